"""A QEMU that is alive but does not answer (SIGSTOP): every command ends, says so, and `down` kills it.

Bounds are generous (tens of seconds): they catch a hang, they are not speed checks. A hang fails the
test through the subprocess timeout instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from contextlib import contextmanager

import pytest

from tests.conftest import links
from tests.faults import util
from tests.faults.util import BARE, qemu_pids

pytestmark = pytest.mark.root


def run(vm, *args: str, within: float) -> subprocess.CompletedProcess:
    try:
        return vm(*args, timeout=within)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"`vmrun {' '.join(args)}` did not return within {within:.0f} s (a frozen QEMU hangs it)"
        ) from None


@contextmanager
def stopped_qemu(vm, write_profile):
    """A BARE VM whose QEMU is stopped with SIGSTOP; whatever happens, nothing stays stopped or running."""
    r = vm("up", str(write_profile(BARE)))
    assert r.returncode == 0, r.stderr
    [pid] = qemu_pids(vm.netns)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        for left in qemu_pids(vm.netns):
            os.kill(left, signal.SIGKILL)
            os.kill(left, signal.SIGCONT)


def assert_nothing_left(vm, before: set[str]) -> None:
    util.assert_nothing_left(vm, before)
    assert vm("ps").stdout.strip() == "no VMs"


def assert_down_kills(vm, *how: str) -> None:
    """`vmrun down bare` with ``how`` (--timeout 5, --force) kills the frozen QEMU and says so, in bounded time."""
    r = run(vm, "down", "bare", *how, within=40)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout.strip() == "bare: killed", (r.stdout, r.stderr)


def test_frozen_qemu_ps_qmp_and_down(vm, write_profile):
    """Defect 4: a SIGSTOPped QEMU used to hang `ps`, `qmp` and `down` for ever (QMP without deadlines).

    Now `ps` shows it "not responding", `qmp` says so in one error line (exit 1), and
    `down --timeout 5` kills it and removes everything.
    """
    before = links(vm.netns)
    with stopped_qemu(vm, write_profile) as pid:
        r = run(vm, "ps", within=20)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        [row] = [line for line in r.stdout.splitlines() if line.startswith("bare")]
        assert "not responding" in row and str(pid) in row, r.stdout

        r = run(vm, "ps", "--json", within=20)
        assert r.returncode == 0, r.stderr
        [entry] = json.loads(r.stdout)
        assert entry["name"] == "bare" and entry["pid"] == pid and entry["status"] == "not responding", entry

        r = run(vm, "qmp", "bare", "query-status", within=20)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stdout == ""
        assert "Traceback" not in r.stderr
        errors = [line for line in r.stderr.splitlines() if not line.startswith("  hint: ")]
        assert len(errors) == 1, r.stderr
        assert errors[0].startswith("vmrun: error: ") and "not responding" in errors[0], r.stderr

        assert_down_kills(vm, "--timeout", "5")
    assert_nothing_left(vm, before)


def test_frozen_qemu_stays_not_responding_in_ps(vm, write_profile):
    """Defect 4: `ps` (run again and again, as `watch vmrun ps` does) shows a SIGSTOPped QEMU as
    "not responding" every time, never as "no QMP" or a hang.

    Each `ps` leaves one connection waiting in the stopped QEMU's accept queue, which is short
    (QEMU listens with a backlog of 1): once it is full a connect fails at once instead of timing out.
    """
    before = links(vm.netns)
    with stopped_qemu(vm, write_profile) as pid:
        for i in range(4):
            r = run(vm, "ps", "--json", within=20)
            assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
            [entry] = json.loads(r.stdout)
            assert entry["pid"] == pid and entry["status"] == "not responding", f"ps number {i + 1}: {entry}"
        assert_down_kills(vm, "--timeout", "5")
    assert_nothing_left(vm, before)


def test_frozen_qemu_down_timeout(vm, write_profile):
    """Defect 4: `down --timeout 5` on a SIGSTOPped QEMU (nothing asked of it before) used to wait for
    ever for its power-off request to be answered. Now it kills it and removes everything."""
    before = links(vm.netns)
    with stopped_qemu(vm, write_profile):
        assert_down_kills(vm, "--timeout", "5")
    assert_nothing_left(vm, before)


def test_frozen_qemu_down_force(vm, write_profile):
    """Defect 4: `down --force` on a SIGSTOPped QEMU used to wait for ever for `quit` to be answered.

    Now it gives up on QMP after its deadline, kills QEMU and removes everything.
    """
    before = links(vm.netns)
    with stopped_qemu(vm, write_profile):
        assert_down_kills(vm, "--force")
    assert_nothing_left(vm, before)
