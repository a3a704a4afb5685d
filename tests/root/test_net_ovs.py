"""`vmrun net ovs-bridge`: an Open vSwitch bridge made (userspace datapath here), over a NIC whose
addresses and routes move to the bridge's internal port; `net list` shows it. OVS runs in the
test's namespace (tests/ovs.py)."""

from __future__ import annotations

import json

import pytest

from tests.ovs import Ovs

pytestmark = pytest.mark.root

OVS_VARS = ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR")


@pytest.fixture
def ovs(vm):
    switch = Ovs(vm.netns)
    try:
        switch.start()
        vm.env.update({k: switch.env[k] for k in OVS_VARS})
        yield switch
    finally:
        switch.stop()


def test_ovs_bridge_over_a_nic(vm, lan, ovs):
    h = lan.host
    h.ip("addr", "add", "192.168.77.5/24", "dev", lan.uplink)
    h.ip("route", "add", "default", "via", "192.168.77.1", "dev", lan.uplink, "metric", "50")
    mac = h.run("cat", f"/sys/class/net/{lan.uplink}/address", check=True).stdout.strip()

    r = vm("net", "ovs-bridge", "ovsbr1", "--uplink", lan.uplink)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"ovsbr1: Open vSwitch bridge made, over {lan.uplink}; moved 192.168.77.5/24")
    assert "userspace datapath (netdev)" in r.stderr  # no openvswitch kernel module here
    assert ovs.ports("ovsbr1") == [lan.uplink]
    assert ovs.vsctl("get", "bridge", "ovsbr1", "datapath_type").stdout.strip() == "netdev"
    assert "inet 192.168.77.5/24" in h.run("ip", "addr", "show", "ovsbr1").stdout
    assert "inet " not in h.run("ip", "addr", "show", lan.uplink).stdout
    assert h.run("ip", "route", "show", "default").stdout.split() == [
        "default",
        "via",
        "192.168.77.1",
        "dev",
        "ovsbr1",
        "metric",
        "50",
    ]
    assert h.run("cat", "/sys/class/net/ovsbr1/address", check=True).stdout.strip() == mac

    r = vm("net", "ovs-bridge", "ovsbr1", "--uplink", lan.uplink)
    assert r.returncode == 0 and r.stdout.strip() == f"ovsbr1: Open vSwitch bridge over {lan.uplink} already"

    found = json.loads(vm("net", "list", "--json").stdout)
    assert found["ovs"]["error"] is None
    [br] = found["ovs"]["bridges"]
    assert br["name"] == "ovsbr1" and br["datapath"] == "netdev" and br["ports"] == [lan.uplink]
    assert br["addresses"] == ["192.168.77.5/24"]
    assert br["helper"] == {"allowed": False, "reason": "qemu-bridge-helper adds ports to Linux bridges only"}
    # OVS's internal port is no Linux bridge: not listed among them.
    assert [b["name"] for b in found["linux_bridges"]] == []


def test_ovs_bridge_without_uplink_and_errors(vm, ovs):
    r = vm("net", "ovs-bridge", "ovsbr2", "--datapath", "netdev")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ovsbr2: Open vSwitch bridge made (datapath netdev)"
    assert ovs.vsctl("br-exists", "ovsbr2", check=False).returncode == 0
    r = vm("net", "ovs-bridge", "ovsbr3", "--datapath", "fast")
    assert (
        r.returncode == 2
        and r.stderr.splitlines()[0] == "vmrun: error: --datapath: 'fast' is not one of netdev | system"
    )
    r = vm("net", "ovs-bridge", "ovsbr3", "--uplink", "nosuch0")
    assert r.returncode == 2 and r.stderr.splitlines()[0] == "vmrun: error: there is no network interface 'nosuch0'"
    assert ovs.vsctl("br-exists", "ovsbr3", check=False).returncode == 2


def test_ovs_not_running_is_one_line(vm, tmp_path):
    vm.env.update({k: str(tmp_path) for k in OVS_VARS})
    r = vm("net", "ovs-bridge", "ovsbr2")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("vmrun: error: Open vSwitch is not running (") and len(lines) == 2
    r = vm("net", "list")
    assert r.returncode == 0
    assert "Open vSwitch bridges: cannot be asked: Open vSwitch is not running (" in r.stdout
