"""`type = "macvtap"`: a guest on a macvtap over the veth that leads to a DHCP-served LAN.

The LAN namespace plays "another machine on the parent's segment": the host
itself cannot reach a macvtap guest, so all traffic is checked from there.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import guest_profile, links
from tests.lan import SUBNET

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:11"


def nic(parent: str = "uplink0", extra: str = "") -> str:
    return f'[[nics]]\nid = "n0"\ntype = "macvtap"\nparent = "{parent}"\nmode = "bridge"\nmac = "{MAC}"\n{extra}'


def macvtap_name() -> str:
    from vmrun.net.tap import link_name

    return link_name("g", "n0", kind="m")


@pytest.mark.parametrize("queues", [1, 2])
def test_guest_on_macvtap_leases_and_answers_the_lan(vm, lan, write_profile, test_guest, queues, leaves_nothing):
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic(extra=f"queues = {queues}\n"))
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    name = macvtap_name()
    assert "this host cannot reach the guest over macvtap" in r.stdout
    [entry] = json.loads(vm("ps", "--json").stdout)
    host = entry["nics"][0]["host"]
    assert {k: host[k] for k in ("macvtap", "parent", "mode", "vhost")} == {
        "macvtap": name,
        "parent": "uplink0",
        "mode": "bridge",
        "vhost": False,
    }
    assert "cannot reach" in host["note"]
    detail = vm.netns.run("ip", "-d", "link", "show", name).stdout
    assert f"{name}@uplink0" in detail and "macvtap mode bridge" in detail and MAC in detail
    argv = json.loads((vm.runtime_dir / "g" / "state.json").read_text())["argv"]
    netdev = next(a for a in argv if a.startswith("tap,id=n0"))
    assert ("fds=" if queues > 1 else "fd=") in netdev
    assert not list((vm.runtime_dir / "g").glob("*.dev")), "the private device node must be gone"

    address = lan.lease_of(MAC)
    assert address.startswith(f"{SUBNET}.")
    assert f"inet {address}/24" in lan.http(address)

    r = vm("down", "g")
    assert r.returncode == 0, r.stderr


def test_missing_parent_is_refused_before_qemu(vm, lan, write_profile, test_guest, leaves_nothing):
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic(parent="nosuch0"))
    r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = r.stderr.strip().splitlines()
    assert f"{path}: nics[0].parent: there is no network interface 'nosuch0'" in first
    assert "ip -br link" in hint


def test_failure_after_the_macvtap_was_made_removes_it(vm, lan, write_profile, test_guest, leaves_nothing):
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic(), extra_args='["-no-such-option"]')
    r = vm("up", str(path))
    assert r.returncode == 1 and "QEMU exited with status 1" in r.stderr


def test_show_names_the_fd_it_cannot_open(vm, lan, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, nic())
    r = vm("show", str(path))
    assert r.returncode == 0, r.stderr
    assert f"tap,id=n0,fd=FD-OF-MACVTAP-{macvtap_name()}" in r.stdout
    assert macvtap_name() not in links(vm.netns)
