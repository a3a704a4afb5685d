"""Races between vmrun processes acting on one VM at the same moment (issue 9: "A VM that stays known").

Every round ends with a check that nothing is left: no QEMU in the test's namespace, no tap, no run
folder and no lock file.
"""

from __future__ import annotations

import json
import os
import signal
import time
from contextlib import contextmanager

import pytest

from tests.conftest import links
from tests.faults.util import BARE_TAP, TAP, finish, one_error, popen, qemu_pids, with_bridge

pytestmark = pytest.mark.root

ROUNDS = 3


@contextmanager
def cleanup_on_failure(vm, name: str = "bare"):
    """A failed check leaves the VM up: take it down, so that the failure is reported once, not twice."""
    try:
        yield
    except BaseException:
        vm("down", name, "--force", timeout=60)
        for pid in qemu_pids(vm.netns):
            os.kill(pid, signal.SIGKILL)
        raise


def wait_until(what: str, check, timeout: float = 60, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s: {what}")


def ps_json(vm) -> list[dict]:
    r = vm("ps", "--json", timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_nothing_left(vm, before: set[str], name: str = "bare", who: dict[int, str] | None = None) -> None:
    assert qemu_pids(vm.netns) == []
    assert links(vm.netns) == before, f"links left: {links(vm.netns) - before}"
    assert not (vm.runtime_dir / name).exists(), (
        f"run folder left: {sorted(p.name for p in (vm.runtime_dir / name).iterdir())}"
    )
    lock = vm.runtime_dir / f".{name}.lock"
    if lock.exists():
        holder = lock.read_text().split()
        pid = int(holder[0]) if holder and holder[0].isdigit() else None
        raise AssertionError(f"lock file left, last written by {holder} ({(who or {}).get(pid, 'another vmrun')})")
    left = sorted(p.name for p in vm.runtime_dir.iterdir()) if vm.runtime_dir.exists() else []
    assert left == [], f"left in the runtime folder: {left}"


def test_ten_concurrent_ups_start_one_vm(vm, write_profile):
    """Defect 1: ten `vmrun up PATH` of one name at once start exactly one QEMU; the others exit 2, cleanly.

    Before the fix the "already running" check and the start were not under one lock: two QEMUs, a
    tap fought over, a run folder removed under a live VM (flaky, 8 of 12 runs). Three rounds here.
    """
    with_bridge(vm)
    before = links(vm.netns)
    path = write_profile(BARE_TAP)
    for round_ in range(ROUNDS):
        with cleanup_on_failure(vm):
            procs = [popen(vm, "up", str(path)) for _ in range(10)]
            results = [finish(p) for p in procs]
            for _rc, _out, err in results:
                assert "Traceback" not in err, err
            winners = [r for r in results if r[0] == 0]
            assert len(winners) == 1, f"round {round_}: {len(winners)} `up`s succeeded: {[r[0] for r in results]}"
            for rc, _out, err in results:
                if rc == 0:
                    continue
                assert rc == 2, f"round {round_}: exit {rc}: {err}"
                # The pid the loser names must be a pid: "(pid ?)" is a loser that read the lock file
                # between the winner's flock and its write of "PID up".
                assert (
                    "bare is being started by another vmrun (pid " in err or "bare: already running (pid " in err
                ) and "(pid ?)" not in err, f"round {round_}: a losing `up` said: {err}"
            assert "bare is up: pid" in winners[0][1]

            [pid] = qemu_pids(vm.netns)
            [entry] = ps_json(vm)
            assert entry["name"] == "bare" and entry["status"] == "running" and entry["pid"] == pid, entry
            assert TAP in links(vm.netns)

            r = vm("down", "bare", "--force", timeout=60)
            assert r.returncode == 0, r.stderr
            assert "Traceback" not in r.stderr
            assert_nothing_left(vm, before)


@pytest.mark.parametrize("with_sigterm", [False, True], ids=["down-only", "down-and-sigterm"])
def test_foreground_up_and_a_concurrent_down(vm, write_profile, with_sigterm):
    """Defect 10: `up --foreground` meets a `vmrun down` from elsewhere (a systemd ExecStop), with or
    without the SIGTERM that stops the foreground vmrun at the same moment.

    Before the fix both went on to release the VM: one of them failed with "could not remove" (or a
    traceback) on what the other had just removed, or something stayed behind.
    """
    with_bridge(vm)
    before = links(vm.netns)
    path = write_profile(BARE_TAP)
    for round_ in range(ROUNDS):
        with cleanup_on_failure(vm):
            fg = popen(vm, "up", str(path), "--foreground")
            down = None
            try:
                wait_until(
                    "ps shows bare running",
                    lambda fg=fg: fg.poll() is not None or any(e["status"] == "running" for e in ps_json(vm)),
                    every=0.2,
                )
                assert fg.poll() is None, f"up --foreground ended early: {fg.communicate()}"
                down = popen(vm, "down", "bare", "--timeout", "1")
                if with_sigterm:
                    fg.send_signal(signal.SIGTERM)
                down_rc, down_out, down_err = finish(down)
            finally:
                if down is None and fg.poll() is None:
                    fg.send_signal(signal.SIGTERM)  # the test failed before the down: do not wait for ever
                fg_rc, fg_out, fg_err = finish(fg)
            for err in (down_err, fg_err):
                assert "Traceback" not in err, err
                assert "could not remove" not in err, err
            assert down_rc == 0, f"round {round_}: down exited {down_rc}: {down_err}"
            assert fg_rc in ((0, 130) if with_sigterm else (0,)), (
                f"round {round_}: up --foreground exited {fg_rc}: {fg_err}"
            )
            assert_nothing_left(vm, before, who={fg.pid: "the `up --foreground`", down.pid: "the `down`"})


LATE_ERROR = 'name = "{name}"\naccel = "tcg"\nmemory = "64M"\nextra_args = ["-device", "virtio-net-pci,netdev=nope"]\n'


def test_parallel_ups_whose_qemu_greets_then_exits(vm, write_profile):
    """Issue 21: "cannot use: Broken pipe" once in 29 parallel `up`s. QEMU's monitor thread greets
    before QEMU builds the machine; a late error (here a -device; in the wild a display port another
    VM took) ends it just after, and `up` met EPIPE answering the greeting. Each `up` must say what
    QEMU said. Bounded: 12 VMs at once, two rounds."""
    paths = [write_profile(LATE_ERROR.format(name=f"late{i}"), name=f"late{i}") for i in range(12)]
    for round_ in range(2):
        procs = [popen(vm, "up", str(path)) for path in paths]
        results = [finish(p) for p in procs]
        for rc, _out, err in results:
            line = one_error(err)
            assert rc == 1, f"round {round_}: exit {rc}: {err}"
            assert line.startswith("vmrun: error: QEMU exited with status 1") and "can't find value 'nope'" in line, err
        assert qemu_pids(vm.netns) == []
        assert sorted(p.name for p in vm.runtime_dir.iterdir()) == []
