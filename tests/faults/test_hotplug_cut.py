"""`nic add`, `nic del`, `fwd add` and `fwd del` killed right after QEMU did one of their steps (issue 21, item 3).

The tiny guest (it answers ACPI hot-plug, so a device_del completes) with a macvtap NIC on a veth
of the test's namespace: a macvtap outlives QEMU's netdev, so a host side left behind shows. A
:class:`QmpCut` SIGKILLs the vmrun the moment QEMU answers the step (or sends the event), before
vmrun can write down what it did. The next `nic del` (or `fwd del`, `fwd add`) must finish the job:
"already gone" in QEMU is what the cut-short command did, and the host side goes after it.
"""

from __future__ import annotations

import json
import signal

import pytest

from tests.conftest import guest_profile, links
from tests.faults.qmpcut import QmpCut
from tests.faults.util import BARE, NAME, finish, no_traceback, popen

pytestmark = [pytest.mark.root, pytest.mark.guest]

USER_NIC = '[[nics]]\nid = "net0"\ntype = "user"\nhostfwd = ["tcp::8080-:80"]\n'


def macvtap_name(nic_id: str) -> str:
    from vmrun.net.tap import link_name

    return link_name("g", nic_id, kind="m")


@pytest.fixture
def guest(vm, write_profile, test_guest):
    """The guest up (its OS answers ACPI), and the veth ``up0`` for macvtaps; the links before any NIC."""
    vm.netns.ip("link", "add", "up0", "type", "veth", "peer", "name", "up0p")
    vm.netns.ip("link", "set", "up0", "up")
    vm.netns.ip("link", "set", "up0p", "up")
    before = links(vm.netns)
    r = vm("up", str(guest_profile(write_profile, test_guest, USER_NIC)), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    yield before
    vm("down", "g", "--force")


def state(vm) -> dict:
    return json.loads((vm.runtime_dir / "g" / "state.json").read_text())


def recorded_for(vm, nic_id: str) -> list[dict]:
    objects = json.loads((vm.runtime_dir / "g" / "host-objects.json").read_text())["objects"]
    return [o for o in objects if o.get("nic") == nic_id]


def info_network(vm) -> str:
    r = vm("qmp", "g", "human-monitor-command", '{"command-line": "info network"}')
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def killed_at(vm, cut: QmpCut, *args: str) -> None:
    p = popen(vm, *args)
    cut.target = p.pid
    rc, _, err = finish(p)
    assert cut.cut.is_set(), f"vmrun {' '.join(args)} ended (exit {rc}) without reaching the step: {err}"
    assert rc == -signal.SIGKILL, (rc, err)


def assert_nic_gone(vm, before: set[str], nic_id: str) -> None:
    assert links(vm.netns) == before, f"left: {links(vm.netns) - before}"
    assert nic_id not in {n["id"] for n in state(vm)["nics"]}
    assert recorded_for(vm, nic_id) == []
    assert nic_id not in info_network(vm)
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert [n["id"] for n in entry["nics"]] == ["net0"], entry["nics"]


STEPS = {
    "device_del": {"command": "device_del"},
    "DEVICE_DELETED": {"event": "DEVICE_DELETED"},
    "netdev_del": {"command": "netdev_del"},
}


@pytest.mark.parametrize("step", STEPS)
def test_nic_del_killed_after_a_step_is_finished_by_the_next(vm, guest, step):
    """vmrun killed once QEMU did ``step`` of `nic del`. Before the fix, killed after netdev_del, every later
    `nic del` failed with "netdev_del: Device 'net1' not found" and the macvtap stayed until `down`."""
    before = guest
    r = vm("nic", "add", "g", "--macvtap", "up0", "--id", "net1")
    assert r.returncode == 0, r.stderr
    assert macvtap_name("net1") in links(vm.netns)

    with QmpCut(vm.runtime_dir / "g", **STEPS[step]) as cut:
        killed_at(vm, cut, "nic", "del", "g", "net1")
    [entry] = [n for n in state(vm)["nics"] if n["id"] == "net1"]
    assert entry["phase"] == "removing"
    r = vm("nic", "list", "g", "--json")
    assert r.returncode == 0, r.stderr
    assert all(n["origin"] == "being removed" for n in json.loads(r.stdout) if n["id"] == "net1")

    r = vm("nic", "del", "g", "net1")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert r.stdout.strip() == "g: removed net1"
    assert r.stderr == ""
    assert_nic_gone(vm, before, "net1")

    # The id is free again.
    r = vm("nic", "add", "g", "--macvtap", "up0", "--id", "net1")
    assert r.returncode == 0, r.stderr
    r = vm("nic", "del", "g", "net1")
    assert r.returncode == 0, r.stderr
    assert_nic_gone(vm, before, "net1")


@pytest.mark.parametrize("step", ["getfd", "netdev_add", "device_add"])
def test_nic_add_killed_after_a_step_is_named_and_finished_by_nic_del(vm, guest, step):
    """vmrun killed once QEMU did ``step`` of `nic add`: the NIC is known as an interrupted add, a second
    add of its id says so and names `nic del`, and `nic del` takes out all of it (fd, netdev, device, macvtap)."""
    before = guest
    with QmpCut(vm.runtime_dir / "g", command=step) as cut:
        killed_at(vm, cut, "nic", "add", "g", "--macvtap", "up0", "--id", "net1")
    assert macvtap_name("net1") in links(vm.netns)
    [entry] = [n for n in state(vm)["nics"] if n["id"] == "net1"]
    assert entry["phase"] == "adding"

    r = vm("nic", "add", "g", "--macvtap", "up0", "--id", "net1")
    assert r.returncode == 2
    no_traceback(r)
    assert "'net1' is already a NIC of g (left by an interrupted nic add)" in r.stderr
    assert "hint: vmrun nic del g net1" in r.stderr

    r = vm("nic", "del", "g", "net1")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert r.stdout.strip() == "g: removed net1"
    assert_nic_gone(vm, before, "net1")


# --- fwd add / fwd del: no guest OS needed (BARE) ---


def bare_forwards(vm) -> list[dict]:
    return json.loads((vm.runtime_dir / NAME / "state.json").read_text())["forwards"]


def hostfwds(vm) -> str:
    r = vm("qmp", NAME, "human-monitor-command", '{"command-line": "info usernet"}')
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_fwd_add_killed_after_qemu_added_it_is_finished_by_a_second_add(vm, write_profile):
    """Before the fix, a `fwd add` killed once QEMU had the forward left it unknown to vmrun: a second add
    failed (its port in use, by QEMU), `fwd del` said "no forward", and it stayed until `down`."""
    assert vm("up", str(write_profile(BARE, NAME))).returncode == 0
    try:
        with QmpCut(vm.runtime_dir / NAME, command="human-monitor-command") as cut:
            killed_at(vm, cut, "fwd", "add", NAME, "tcp::18080-:80")
        assert "18080" in hostfwds(vm)
        assert {"nic": "net0", "rule": "tcp:127.0.0.1:18080-:80", "phase": "adding"} in bare_forwards(vm)
        r = vm("fwd", "list", NAME)
        assert "tcp:127.0.0.1:18080-:80  (adding)" in r.stdout, r.stdout

        r = vm("fwd", "add", NAME, "tcp::18080-:80")
        assert r.returncode == 0, r.stderr
        no_traceback(r)
        assert r.stdout.strip() == f"{NAME}: forwarding tcp:127.0.0.1:18080-:80"
        assert [f for f in bare_forwards(vm) if "18080" in f["rule"]] == [
            {"nic": "net0", "rule": "tcp:127.0.0.1:18080-:80"}
        ]
        assert hostfwds(vm).count("18080") == 1

        r = vm("fwd", "del", NAME, "tcp:127.0.0.1:18080")
        assert r.returncode == 0, r.stderr
        assert "18080" not in hostfwds(vm)
        assert not [f for f in bare_forwards(vm) if "18080" in f["rule"]]
    finally:
        vm("down", NAME, "--force")


def test_fwd_del_killed_after_qemu_removed_it_is_finished_by_the_next(vm, write_profile):
    """Before the fix, a `fwd del` killed once QEMU had removed the forward left every later `fwd del` failing
    with "host forwarding rule ... not found", and `fwd list` and `ps` showing it until `down`."""
    assert vm("up", str(write_profile(BARE, NAME))).returncode == 0
    try:
        with QmpCut(vm.runtime_dir / NAME, command="human-monitor-command") as cut:
            killed_at(vm, cut, "fwd", "del", NAME, "tcp:127.0.0.1:2222")
        assert "2222" not in hostfwds(vm)
        assert bare_forwards(vm) == [{"nic": "net0", "rule": "tcp:127.0.0.1:2222-:22", "phase": "removing"}]

        r = vm("fwd", "del", NAME, "tcp:127.0.0.1:2222")
        assert r.returncode == 0, r.stderr
        no_traceback(r)
        assert r.stdout.strip() == f"{NAME}: removed tcp:127.0.0.1:2222-:22"
        assert r.stderr == ""
        assert bare_forwards(vm) == []
        [entry] = json.loads(vm("ps", "--json").stdout)
        assert entry["forwards"] == []

        r = vm("fwd", "add", NAME, "tcp::2222-:22")  # the port is free again
        assert r.returncode == 0, r.stderr
    finally:
        vm("down", NAME, "--force")
