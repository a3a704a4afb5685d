"""`type = "network"`: a guest on the bridge of a libvirt NAT network leases from libvirt's own dnsmasq.

libvirtd runs inside the test's namespace (tests/libvirtd.py), so its bridge,
dnsmasq and NAT rules are there too, and go when the test ends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import guest_profile, links, serial_lease
from tests.libvirtd import URI, LibvirtdLock

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:21"
NETWORK, BRIDGE, PREFIX = "vmrtest", "vmrbr0", "192.168.150"


def nic(via: str, network: str = NETWORK, extra: str = "") -> str:
    return f'[[nics]]\nid = "n0"\ntype = "network"\nnetwork = "{network}"\nvia = "{via}"\nmac = "{MAC}"\n{extra}'


def up_lease_http_down(vm, libvirtd, path: Path, via: str) -> dict:
    before = links(vm.netns)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    host = entry["nics"][0]["host"]
    assert host["network"] == NETWORK and host["uri"] == URI
    assert host["bridge"] == BRIDGE and host["via"] == via

    address = libvirtd.lease_of(NETWORK, MAC)
    assert address.startswith(f"{PREFIX}.")
    assert serial_lease(vm.runtime_dir / "g") == f"{address}/24"
    # The bridge holds PREFIX.1 in the test's namespace: the host side reaches the guest directly.
    assert f"inet {address}/24" in vm.netns.http(f"http://{address}/cgi-bin/ip")

    r = vm("down", "g")
    assert r.returncode == 0, r.stderr
    assert links(vm.netns) == before
    assert not (vm.runtime_dir / "g").exists()
    return host


def test_tap_on_a_libvirt_nat_network(vm, libvirtd, write_profile, test_guest):
    libvirtd.nat_network(NETWORK, BRIDGE, PREFIX)
    path = guest_profile(write_profile, test_guest, nic("tap"))
    host = up_lease_http_down(vm, libvirtd, path, "tap")
    assert host["tap"] == "vr-g-n0" and host["vhost"] is False


def test_helper_on_a_libvirt_nat_network(vm, libvirtd, write_profile, test_guest, bridge_conf):
    libvirtd.nat_network(NETWORK, BRIDGE, PREFIX)
    bridge_conf.parent.mkdir(exist_ok=True)
    bridge_conf.write_text(f"allow {BRIDGE}\n")
    path = guest_profile(write_profile, test_guest, nic("helper"))
    up_lease_http_down(vm, libvirtd, path, "helper")


def error_lines(stderr: str) -> tuple[str, str]:
    """The one error line and its hint, and nothing else from libvirt."""
    lines = [x for x in stderr.strip().splitlines() if not x.startswith("vmrun: ") or x.startswith("vmrun: error:")]
    assert len(lines) == 2, stderr
    return lines[0], lines[1]


def test_inactive_network_is_refused_with_net_start(vm, libvirtd, write_profile, test_guest):
    libvirtd.nat_network(NETWORK, BRIDGE, PREFIX, start=False)
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic("tap"))
    r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = error_lines(r.stderr)
    assert first == f"vmrun: error: {path}: nics[0].network: libvirt network '{NETWORK}' is not active"
    assert f"virsh net-start {NETWORK}" in hint and f"virsh net-autostart {NETWORK}" in hint
    assert links(vm.netns) == before
    assert not (vm.runtime_dir / "g").exists()


def test_missing_network_is_refused(vm, libvirtd, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, nic("tap", network="nosuch"))
    r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = error_lines(r.stderr)
    assert first == f"vmrun: error: {path}: nics[0].network: libvirt at {URI} has no network 'nosuch'"
    assert "virsh net-list --all" in hint and "virsh net-define" in hint
    assert not (vm.runtime_dir / "g").exists()


def test_libvirtd_not_running_names_the_uri(vm, write_profile, test_guest):
    with LibvirtdLock():  # no test's libvirtd runs meanwhile
        path = guest_profile(write_profile, test_guest, nic("tap"))
        r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = error_lines(r.stderr)
    assert first.startswith(f"vmrun: error: {path}: nics[0].uri: cannot reach libvirt at {URI}: ")
    assert "libvirtd" in hint
    assert not (vm.runtime_dir / "g").exists()
