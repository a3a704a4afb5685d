"""A VM whose run state is lost or broken stays known (issue 9, defect 5).

A BARE VM (no guest OS) with a vmrun-made tap on ``br0`` in the test's namespace:
`vmrun up` killed with SIGKILL at each step of the launch, ``state.json`` emptied,
garbled or deleted under a running QEMU, and the files of vmrun before schema 2.
Whatever became of the files, a QEMU that lives is listed by `ps`, never touched by
`gc`, refused a second `up`, and `down --force` leaves nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import links, vmrun_bin
from tests.faults.util import (
    BARE_TAP,
    NAME,
    TAP,
    assert_nothing_left,
    comm,
    no_traceback,
    one_error,
    qemu_pids,
    with_bridge,
)

pytestmark = pytest.mark.root


# --- helpers -------------------------------------------------------------------------------------


def up(vm, write_profile) -> tuple[Path, int]:
    path = write_profile(BARE_TAP, NAME)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [pid] = qemu_pids(vm.netns)
    assert TAP in links(vm.netns)
    return path, pid


def ps_entries(vm) -> dict[str, dict]:
    r = vm("ps", "--json")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    return {e["name"]: e for e in json.loads(r.stdout)}


def wait_listed_alive(vm, pid: int, timeout: float = 30) -> dict:
    """`ps --json` lists the VM with ``pid`` and a status that says it lives (QMP may take a moment)."""
    deadline = time.monotonic() + timeout
    entry: dict | None = None
    while time.monotonic() < deadline:
        entry = ps_entries(vm).get(NAME)
        if entry and entry["pid"] == pid and entry["status"] in ("running", "prelaunch"):
            return entry
        time.sleep(0.2)
    raise AssertionError(f"ps does not show {NAME} alive with pid {pid}: {entry}")


def assert_kept_alive(vm, path: Path, pid: int) -> None:
    """`gc` leaves a live VM alone; a second `up` is refused; `down --force` then leaves nothing."""
    r = vm("gc")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert r.stdout.strip() == "nothing to clean up"
    assert TAP in links(vm.netns)
    assert (vm.runtime_dir / NAME).is_dir()
    assert qemu_pids(vm.netns) == [pid]

    r = vm("up", str(path))
    assert r.returncode == 2, r.stderr
    assert f"{NAME}: already running (pid {pid})" in one_error(r.stderr)
    assert qemu_pids(vm.netns) == [pid]


def down_force(vm, before: set[str]) -> None:
    r = vm("down", NAME, "--force", timeout=120)
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert_nothing_left(vm, before)


# --- (a) vmrun up killed with SIGKILL at each step ---------------------------------------------

ATTEMPTS = 20  # of a kill landing before `up` returns, where the point is its last few ms


def _state_pid(state: Path) -> int | None:
    try:
        return json.loads(state.read_text()).get("pid")
    except (OSError, ValueError):
        return None


def _qemu_child(parent: int) -> int | None:
    """A QEMU whose parent is ``parent`` (the vmrun under test), read straight from /proc: fast."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and comm.startswith("qemu"):
            return int(entry)
    return None


def _wait_for(point: str, p: subprocess.Popen, run_dir: Path, timeout: float = 60) -> bool:
    """Spin until ``point`` of the launch is reached; sleeps of at most 1 ms. False: `up` got past it
    and ended well before the spin saw it."""
    state = run_dir / "state.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (code := p.poll()) == 0:
            return False
        if code is not None:
            raise AssertionError(f"vmrun up ended (exit {code}) before the point {point!r} was seen")
        if point == "state" and state.exists():
            return True
        if point == "qemu":
            if _qemu_child(p.pid) is not None:
                return True
            time.sleep(0.0005)
        if point == "pid" and _state_pid(state) is not None:
            return True
    raise AssertionError(f"the point {point!r} of `vmrun up` was not reached in {timeout} s")


def _settle(vm, timeout: float = 15) -> None:
    """Wait until only QEMUs (if any) are left in the namespace: a child forked but not yet exec'd becomes one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all("qemu" in comm(p) for p in vm.netns.pids()):
            return
        time.sleep(0.05)
    raise AssertionError(f"processes other than QEMU left: {[comm(p) for p in vm.netns.pids()]}")


@pytest.mark.parametrize("point", ["state", "qemu", "pid"])
def test_up_killed_at_each_step_leaves_a_vm_that_stays_known(vm, write_profile, point):
    """Defect 5: `vmrun up` killed with SIGKILL when state.json appears, when QEMU appears, when the pid is written.

    A QEMU that survived must be listed by `ps` (alive, not "dead"), left alone by `gc`, refuse a
    second `up`, and go with everything of its run at `down --force`. A kill before QEMU was
    spawned leaves no QEMU, and `gc` clears the folder (the tap went with vmrun's fds).
    """
    before = with_bridge(vm)
    path = write_profile(BARE_TAP, NAME)
    run_dir = vm.runtime_dir / NAME
    for _attempt in range(ATTEMPTS):
        p = vm.netns.popen(
            vmrun_bin(), "up", str(path), env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            if _wait_for(point, p, run_dir):
                p.send_signal(signal.SIGKILL)
            pid_at_kill = _state_pid(run_dir / "state.json")
        finally:
            _, err = p.communicate(timeout=60)
        if p.returncode != 0:
            break
        # `up` finished before the kill landed (the pid is written a few ms before it returns):
        # nothing was cut short, so start again.
        down_force(vm, before)
    assert p.returncode == -signal.SIGKILL, err
    _settle(vm)

    survivors = qemu_pids(vm.netns)
    print(f"killed at {point!r}: state.json pid then {pid_at_kill}, QEMU left: {survivors}")
    assert len(survivors) <= 1
    if survivors:
        [pid] = survivors
        entry = wait_listed_alive(vm, pid)
        assert entry["status"] != "dead"
        assert TAP in links(vm.netns)
        assert_kept_alive(vm, path, pid)
        down_force(vm, before)
    else:
        # Killed before QEMU was spawned: what `ps` shows must not be alive, and gc clears the rest.
        entry = ps_entries(vm).get(NAME)
        assert entry is None or (entry["pid"] is None and entry["status"] == "dead"), entry
        r = vm("gc")
        assert r.returncode == 0, r.stderr
        no_traceback(r)
        assert_nothing_left(vm, before)
    # Whatever the point, the name is usable again.
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    down_force(vm, before)


# --- (b) (c) state.json broken or gone under a running QEMU --------------------------------------


def assert_shown_running_with_note(vm, pid: int, words: str) -> None:
    """`ps` and `ps --json` show the VM as running, its pid, and a note with ``words``."""
    r = vm("ps")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    [row] = [line for line in r.stdout.splitlines() if line.startswith(f"{NAME} ")]
    assert str(pid) in row and "running" in row and words in row, r.stdout
    entry = ps_entries(vm)[NAME]
    assert entry["pid"] == pid and entry["status"] == "running"
    assert entry["note"] and words in entry["note"], entry


@pytest.mark.parametrize(
    "garbage", ["", "xx", "[]", '"str"', '{"pid": "self"}'], ids=["empty", "xx", "list", "string", "pid-self"]
)
def test_garbled_state_keeps_the_vm_known(vm, write_profile, garbage):
    """Defect 5: state.json emptied or replaced by garbage while QEMU runs: still running, still stoppable."""
    before = with_bridge(vm)
    path, pid = up(vm, write_profile)
    state = vm.runtime_dir / NAME / "state.json"
    state.write_text(garbage)

    assert_shown_running_with_note(vm, pid, "state.json")

    assert_kept_alive(vm, path, pid)
    down_force(vm, before)


def test_deleted_state_keeps_the_vm_known(vm, write_profile):
    """Defect 5: state.json deleted while QEMU runs: found by its pid file, shown as running with a note."""
    before = with_bridge(vm)
    path, pid = up(vm, write_profile)
    (vm.runtime_dir / NAME / "state.json").unlink()

    assert_shown_running_with_note(vm, pid, "state lost")

    assert_kept_alive(vm, path, pid)
    down_force(vm, before)


# --- (d) the files of vmrun before schema 2 ------------------------------------------------------


@pytest.mark.parametrize("link_kind", ["kept", "dropped"])
def test_schema_1_files_are_read_and_upgraded(vm, write_profile, link_kind):
    """Defect 5: a VM whose state.json and host-objects.json are in the schema-1 format still runs and is managed.

    ``dropped``: the link records also lose ``link_kind``, which vmrun before schema 2 did not write.
    """
    before = with_bridge(vm)
    _, pid = up(vm, write_profile)
    run_dir = vm.runtime_dir / NAME
    state = json.loads((run_dir / "state.json").read_text())
    state.pop("schema")
    state.pop("phase")
    (run_dir / "state.json").write_text(json.dumps(state))
    objects = json.loads((run_dir / "host-objects.json").read_text())["objects"]
    assert any(o["kind"] == "link" and o["name"] == TAP for o in objects)
    if link_kind == "dropped":
        objects = [{k: v for k, v in o.items() if k != "link_kind"} for o in objects]
    (run_dir / "host-objects.json").write_text(json.dumps(objects))

    entry = ps_entries(vm)[NAME]
    assert entry["pid"] == pid and entry["status"] == "running" and entry["note"] is None, entry

    r = vm("fwd", "add", NAME, "tcp::18099-:80")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert "tcp:127.0.0.1:18099-:80" in r.stdout
    upgraded = json.loads((run_dir / "state.json").read_text())
    assert upgraded["schema"] == 2 and upgraded["phase"] == "running" and upgraded["pid"] == pid
    assert {"nic": "net0", "rule": "tcp:127.0.0.1:18099-:80"} in upgraded["forwards"]
    assert ps_entries(vm)[NAME]["status"] == "running"

    # No guest OS answers ACPI: this walks the quit fallback.
    r = vm("down", NAME, "--timeout", "1", timeout=120)
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert_nothing_left(vm, before)
