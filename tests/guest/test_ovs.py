"""`type = "ovs"`: a guest on an Open vSwitch bridge (userspace datapath) whose port
``uplink0`` leads to the DHCP-served LAN. OVS runs inside the test's namespace (tests/ovs.py).

The LAN's veth sends with complete checksums (see tests/ovs.py `complete_checksums`);
the guest's side is vmrun's to get right, and these tests check it does."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile

import pytest

from tests.conftest import guest_profile, links, vmrun_bin
from tests.lan import SUBNET
from tests.ovs import Ovs, complete_checksums

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:21"
PORT = "vr-g-n0"
OVS_VARS = ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR")


def nic(bridge: str = "ovsbr0", extra: str = "") -> str:
    return f'[[nics]]\nid = "n0"\ntype = "ovs"\nbridge = "{bridge}"\nmac = "{MAC}"\n{extra}'


@pytest.fixture
def ovs(vm, lan):
    """OVS with bridge ovsbr0 (uplink0 on it), stopped and removed before `vm` checks for leftovers."""
    switch = Ovs(vm.netns)
    try:
        switch.start()
        switch.bridge("ovsbr0", lan.uplink)
        complete_checksums(lan.ns, "lan")
        vm.env.update({k: switch.env[k] for k in OVS_VARS})
        yield switch
    finally:
        switch.stop()


def test_guest_on_ovs_leases_and_answers_the_lan(vm, lan, ovs, write_profile, test_guest):
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic())
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert entry["nics"][0]["host"] == {"tap": PORT, "bridge": "ovsbr0", "datapath": "netdev", "vhost": False}
    assert ovs.ports("ovsbr0") == sorted(["uplink0", PORT])
    for key, value in (("vmrun-vm", "g"), ("vmrun-nic", "n0")):
        assert ovs.vsctl("get", "interface", PORT, f"external-ids:{key}").stdout.strip().strip('"') == value

    address = lan.lease_of(MAC)
    assert address.startswith(f"{SUBNET}.")
    assert f"inet {address}/24" in lan.http(address)

    r = vm("down", "g")
    assert r.returncode == 0, r.stderr
    assert ovs.ports("ovsbr0") == ["uplink0"]
    assert links(vm.netns) == before
    assert not (vm.runtime_dir / "g").exists()


def test_vlan_tag_puts_the_guest_on_that_vlan(vm, lan, ovs, write_profile, test_guest):
    # The LAN is only on VLAN 10 too: a lease proves the tag is applied on both ports.
    ovs.vsctl("set", "port", "uplink0", "tag=10")
    path = guest_profile(write_profile, test_guest, nic(extra="vlan = 10\n"))
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert ovs.vsctl("get", "port", PORT, "tag").stdout.strip() == "10"
    assert json.loads(vm("ps", "--json").stdout)[0]["nics"][0]["host"]["vlan"] == 10
    address = lan.lease_of(MAC)
    assert f"inet {address}/24" in lan.http(address)
    assert vm("down", "g").returncode == 0
    assert ovs.ports("ovsbr0") == ["uplink0"]


def test_ovs_not_running_is_refused_before_qemu(vm, lan, write_profile, test_guest):
    with tempfile.TemporaryDirectory(prefix="vmrun-ovs-") as empty:
        vm.env.update({k: empty for k in OVS_VARS})
        before = links(vm.netns)
        path = guest_profile(write_profile, test_guest, nic())
        r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = r.stderr.strip().splitlines()
    assert f"{path}: nics[0].bridge: Open vSwitch is not running (" in first and "db.sock" in first
    assert "start Open vSwitch" in hint
    assert links(vm.netns) == before
    assert not (vm.runtime_dir / "g").exists()


def test_missing_ovs_bridge_is_refused_before_qemu(vm, lan, ovs, write_profile, test_guest):
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic(bridge="nosuch0"))
    r = vm("up", str(path))
    assert r.returncode == 2
    first, hint = r.stderr.strip().splitlines()
    assert f"{path}: nics[0].bridge: there is no Open vSwitch bridge 'nosuch0'" in first
    assert "ovs-vsctl add-br nosuch0" in hint
    assert ovs.ports("ovsbr0") == ["uplink0"]
    assert links(vm.netns) == before


def test_failure_after_the_port_was_added_removes_it(vm, lan, ovs, write_profile, test_guest):
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic(), extra_args='["-no-such-option"]')
    r = vm("up", str(path))
    assert r.returncode == 1 and "QEMU exited with status 1" in r.stderr
    assert ovs.ports("ovsbr0") == ["uplink0"]
    assert links(vm.netns) == before
    assert not (vm.runtime_dir / "g").exists()


def test_ports_vmrun_did_not_make_are_left_alone(vm, lan, ovs, write_profile, test_guest):
    ovs.vsctl("add-port", "ovsbr0", "other0", "--", "set", "interface", "other0", "type=internal")
    ovs.vsctl(
        "add-port",
        "ovsbr0",
        "other1",
        "--",
        "set",
        "interface",
        "other1",
        "type=internal",
        "external-ids:vmrun-vm=someone-else",
    )
    code = (
        "from vmrun.adapters.ovs import delete_port as d; print(d('ovsbr0', 'other0', 'g'), d('ovsbr0', 'other1', 'g'))"
    )
    r = vm.netns.run(sys.executable, "-c", code, env=vm.env)
    assert r.stdout.split() == ["False", "False"], r.stderr
    # A port with vmrun's name that vmrun did not make for this VM stops `up` before anything is made.
    ovs.vsctl("add-port", "ovsbr0", PORT, "--", "set", "interface", PORT, "type=internal")
    path = guest_profile(write_profile, test_guest, nic())
    r = vm("up", str(path))
    assert r.returncode == 2 and f"nics[0].id: Open vSwitch has a port {PORT} already" in r.stderr
    assert set(ovs.ports("ovsbr0")) == {"uplink0", "other0", "other1", PORT}


def test_gc_after_qemu_died_removes_the_port(vm, lan, ovs, write_profile, test_guest):
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic())
    assert vm("up", str(path)).returncode == 0
    pid = json.loads(vm("ps", "--json").stdout)[0]["pid"]
    vm.netns.run("kill", "-9", str(pid))
    r = vm("gc")
    assert r.returncode == 0 and "cleaned up: g" in r.stdout
    assert ovs.ports("ovsbr0") == ["uplink0"]
    assert links(vm.netns) == before


def test_down_while_ovs_is_stopped_keeps_the_port_on_record_for_gc(vm, lan, ovs, write_profile, test_guest):
    """Issue 21, item 6: OVS stopped during `down`: the port it could not delete stays on record (exit 1,
    one line saying so), `gc` keeps it while OVS is down and removes it once OVS is back."""
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic())
    assert vm("up", str(path)).returncode == 0
    ovs.stop(keep=True)
    r = vm("down", "g", "--force")
    assert r.returncode == 1, r.stdout + r.stderr
    first, hint = r.stderr.strip().splitlines()
    assert first.startswith(f"vmrun: error: g: could not remove: OVS port {PORT}: Open vSwitch does not answer (")
    assert first.endswith("so the port stays on record") and "vmrun gc" in hint, r.stderr
    assert links(vm.netns) == before  # QEMU and the tap are gone all the same
    objects = json.loads((vm.runtime_dir / "g" / "host-objects.json").read_text())["objects"]
    assert [o["kind"] for o in objects] == ["ovs-port"]
    r = vm("gc")
    assert r.returncode == 1 and "Open vSwitch does not answer" in r.stderr
    assert (vm.runtime_dir / "g" / "host-objects.json").exists()

    ovs.start()
    assert PORT in ovs.ports("ovsbr0")
    r = vm("gc")
    assert r.returncode == 0 and r.stdout.strip() == "cleaned up: g", r.stderr
    assert ovs.ports("ovsbr0") == ["uplink0"]
    assert not (vm.runtime_dir / "g").exists()
    assert vm("gc").stdout.strip() == "nothing to clean up"


# An ovs-vsctl whose add-port takes effect, then OVS stops before it answers (as a timeout would leave it).
_STOPS_AT_ADD_PORT = """#!/bin/sh
ovs-vsctl "$@"
rc=$?
case " $* " in *" add-port "*)
    pids=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid" "$OVS_RUNDIR/ovsdb-server.pid")
    kill $pids
    for p in $pids; do  # gone, or a zombie of the test that started it
        while grep -qs "^State:.*[^Z] (" /proc/$p/status; do sleep 0.05; done
    done
    echo "ovs-vsctl: timed out waiting for ovs-vswitchd" >&2; exit 1;;
esac
exit $rc
"""


def test_ovs_stopping_during_up_keeps_the_port_on_record_for_gc(vm, lan, ovs, write_profile, test_guest, tmp_path):
    """Issue 21, item 6, in a failed `up`: its own error first, the port kept on record with the run folder."""
    wrapper = tmp_path / "bin" / "ovs-vsctl"
    wrapper.parent.mkdir()
    wrapper.write_text(_STOPS_AT_ADD_PORT.replace('ovs-vsctl "$@"', f'{shutil.which("ovs-vsctl")} "$@"'))
    wrapper.chmod(0o755)
    before = links(vm.netns)
    path = guest_profile(write_profile, test_guest, nic())
    env = {**vm.env, "PATH": f"{wrapper.parent}:{vm.env['PATH']}"}
    r = vm.netns.run(vmrun_bin(), "up", str(path), env=env, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"cannot add {PORT} to Open vSwitch bridge ovsbr0: timed out" in r.stderr.splitlines()[-2], r.stderr
    assert r.stderr.startswith(f"vmrun: OVS port {PORT}: Open vSwitch does not answer ("), r.stderr
    assert "so the port stays on record; vmrun gc (or down) removes it once that is fixed" in r.stderr
    assert links(vm.netns) == before
    assert (vm.runtime_dir / "g" / "host-objects.json").exists()

    ovs.stop(keep=True)
    ovs.start()
    assert PORT in ovs.ports("ovsbr0")
    r = vm("gc")
    assert r.returncode == 0 and r.stdout.strip() == "cleaned up: g", r.stderr
    assert ovs.ports("ovsbr0") == ["uplink0"]
    assert not (vm.runtime_dir / "g").exists()


def test_switch_daemon_not_running_is_refused_before_qemu(vm, lan, write_profile, test_guest):
    switch = Ovs(vm.netns)
    try:
        switch.start(switch=False)  # the database only
        switch.vsctl("--no-wait", "add-br", "ovsbr0")
        vm.env.update({k: switch.env[k] for k in OVS_VARS})
        before = links(vm.netns)
        path = guest_profile(write_profile, test_guest, nic())
        r = vm("up", str(path))
        assert r.returncode == 2
        first, hint = r.stderr.strip().splitlines()
        assert f"{path}: nics[0].bridge: ovs-vswitchd is not running" in first and "start Open vSwitch" in hint
        assert switch.vsctl("--no-wait", "list-ports", "ovsbr0").stdout == ""
        assert links(vm.netns) == before
    finally:
        switch.stop()
