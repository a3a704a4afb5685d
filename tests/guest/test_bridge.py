"""`type = "bridge"`: a guest on a Linux bridge whose uplink leads to a DHCP-served LAN."""

from __future__ import annotations

import json

import pytest

from tests.conftest import guest_profile
from tests.lan import SUBNET

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:01"


def nic(via: str, bridge: str = "br0", extra: str = "") -> str:
    return f'[[nics]]\nid = "n0"\ntype = "bridge"\nbridge = "{bridge}"\nvia = "{via}"\nmac = "{MAC}"\n{extra}'


def test_tap_made_by_vmrun_on_a_bridge(vm, lan, write_profile, test_guest, leaves_nothing):
    lan.bridge("br0")
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic("tap"))
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    host = entry["nics"][0]["host"]
    assert host == {"tap": "vr-g-n0", "bridge": "br0", "via": "tap", "vhost": False}
    assert "master br0" in vm.netns.run("ip", "link", "show", "vr-g-n0").stdout

    address = lan.lease_of(MAC)
    assert address.startswith(f"{SUBNET}.")
    assert f"inet {address}/24" in lan.http(address)

    r = vm("down", "g")
    assert r.returncode == 0, r.stderr


def test_tap_with_two_queues(vm, lan, write_profile, test_guest):
    lan.bridge("br0")
    path = guest_profile(write_profile, test_guest, nic("tap", extra="queues = 2\n"), extra="smp = 2\n")
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    address = lan.lease_of(MAC)
    assert f"inet {address}/24" in lan.http(address)
    assert vm("down", "g").returncode == 0


def test_bridge_helper_with_acl(vm, lan, write_profile, test_guest, bridge_conf, leaves_nothing):
    lan.bridge("br0")
    bridge_conf.parent.mkdir(exist_ok=True)
    bridge_conf.write_text("# test\ninclude /nonexistent/other.conf\nallow br0\n")
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic("helper"))
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert entry["nics"][0]["host"]["via"] == "helper"
    address = lan.lease_of(MAC)
    assert f"inet {address}/24" in lan.http(address)
    assert vm("down", "g").returncode == 0


@pytest.mark.parametrize("conf", [None, "allow br1\n", "allow all\ndeny br0\n"])
def test_bridge_not_in_acl_is_refused_before_qemu(vm, lan, write_profile, test_guest, bridge_conf, conf):
    lan.bridge("br0")
    if conf is None:
        bridge_conf.unlink(missing_ok=True)
    else:
        bridge_conf.parent.mkdir(exist_ok=True)
        bridge_conf.write_text(conf)
    path = guest_profile(write_profile, test_guest, nic("helper"))
    r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = r.stderr.strip().splitlines()[-2:]
    assert f"{path}: nics[0].bridge: qemu-bridge-helper would refuse bridge 'br0'" in first
    assert "allow br0" in hint and "/etc/qemu/bridge.conf" in hint
    assert not (vm.runtime_dir / "g").exists()


def test_vhost_on_without_vhost_net_is_refused(vm, lan, write_profile, test_guest, leaves_nothing):
    lan.bridge("br0")
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic("tap", extra='vhost = "on"\n'))
    r = vm("up", str(path))
    assert r.returncode == 2
    assert f'{path}: nics[0].vhost: vhost = "on" but /dev/vhost-net cannot be opened' in r.stderr


def test_missing_bridge_is_refused(vm, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, nic("tap", bridge="nosuch0"))
    r = vm("up", str(path))
    assert r.returncode == 2 and "nics[0].bridge: there is no Linux bridge 'nosuch0'" in r.stderr


def test_failure_after_the_tap_was_made_removes_it(vm, lan, write_profile, test_guest, leaves_nothing):
    lan.bridge("br0")
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic("tap"), extra_args='["-no-such-option"]')
    r = vm("up", str(path))
    assert r.returncode == 1 and "QEMU exited with status 1" in r.stderr


def test_gc_after_qemu_died(vm, lan, write_profile, test_guest, leaves_nothing):
    lan.bridge("br0")
    leaves_nothing()
    path = guest_profile(write_profile, test_guest, nic("tap"))
    assert vm("up", str(path)).returncode == 0
    pid = json.loads(vm("ps", "--json").stdout)[0]["pid"]
    vm.netns.run("kill", "-9", str(pid))
    r = vm("gc")
    assert r.returncode == 0 and "cleaned up: g" in r.stdout
