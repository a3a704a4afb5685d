"""Guests on networks vmrun made: `vmrun net create`, and a profile's ``[[networks]]`` made at `up`;
without a guest agent, `vmrun ip` gives the address from the network's DHCP lease.

libvirtd runs in the test's namespace (tests/libvirtd.py): its bridge, dnsmasq and NAT rules are
there and go with it; the networks are undefined after each test, so no autostart file is left.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from tests.conftest import guest_profile, serial_lease

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:31"


def nic(network: str) -> str:
    return f'[[nics]]\nid = "n0"\ntype = "network"\nnetwork = "{network}"\nvia = "tap"\nmac = "{MAC}"\n'


def shown(vm, name: str) -> dict:
    found = json.loads(vm("net", "list", "--json").stdout)
    return next(n for n in found["libvirt"]["networks"] if n["name"] == name)


def boot_lease_down(vm, libvirtd, path, network: str, subnet: str, *, ip_from_lease: bool = False) -> str:
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    address = libvirtd.lease_of(network, MAC)
    first, last = (ipaddress.IPv4Network(subnet).network_address + n for n in (2, 254))
    assert first <= ipaddress.IPv4Address(address) <= last, address
    assert serial_lease(vm.runtime_dir / "g") == f"{address}/24"
    assert f"inet {address}/24" in vm.netns.http(f"http://{address}/cgi-bin/ip")
    if ip_from_lease:  # agent = false: `ip` has the network's DHCP lease, and says so
        got = vm("ip", "g", "--json")
        assert got.returncode == 0, got.stderr
        [entry] = json.loads(got.stdout)
        assert entry["mac"] == MAC and entry["addresses"][0] == {
            "address": address,
            "prefix": 24,
            "source": f"dhcp lease ({network})",
        }
    r2 = vm("down", "g")
    assert r2.returncode == 0, r2.stderr
    return r.stderr


def test_guest_leases_on_a_network_made_by_net_create(vm, libvirtd, write_profile, test_guest):
    libvirtd.networks["jrgnet"] = "jrgbr0"
    r = vm("net", "create", "jrgnet", "--nat", "--subnet", "192.168.128.0/24", "--bridge", "jrgbr0")
    assert r.returncode == 0, r.stderr
    net = shown(vm, "jrgnet")
    assert net["active"] and net["persistent"] and net["autostart"] and net["bridge"] == "jrgbr0"

    path = guest_profile(write_profile, test_guest, nic("jrgnet"), extra="agent = false\n")
    boot_lease_down(vm, libvirtd, path, "jrgnet", "192.168.128.0/24", ip_from_lease=True)
    assert shown(vm, "jrgnet")["active"]


def test_profile_network_is_made_at_up_and_stays_after_down(vm, libvirtd, write_profile, test_guest):
    libvirtd.networks["profnet"] = "vr-profnet"
    networks = '[[networks]]\nname = "profnet"\nsubnet = "192.168.129.0/24"\n'
    path = guest_profile(write_profile, test_guest, nic("profnet"), extra=networks)
    stderr = boot_lease_down(vm, libvirtd, path, "profnet", "192.168.129.0/24")
    assert (
        "vmrun: created libvirt network profnet (active, persistent, autostart, bridge vr-profnet); "
        "it stays after `vmrun down` (host set-up, not part of the VM)"
    ) in stderr
    net = shown(vm, "profnet")
    assert net["active"] and net["persistent"] and net["autostart"] and net["subnet"] == "192.168.129.0/24"
