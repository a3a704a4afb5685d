"""`vmrun up` of a VM with [tpm] failing, or killed with SIGKILL at each moment around its swtpm (issue 21's rule
for helper daemons): whatever is left, `gc` (or `down --force`, when QEMU lives) finishes it, and no
swtpm is left running.

The moments: ``recorded`` (host-objects.json names the swtpm, maybe before it runs or before its pid
is written), ``swtpm`` (the swtpm process exists), ``qemu`` (QEMU exists: the VM lives on).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import vmrun_bin
from tests.faults.util import BARE, NAME, assert_nothing_left, comm, no_traceback, qemu_pids
from tests.guest.test_tpm import live_swtpms

pytestmark = pytest.mark.root

BARE_TPM = BARE.replace('memory = "64M"\n', 'memory = "64M"\nmachine = "q35"\n[tpm]\n')


def _children(parent: int, name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == parent and stat[stat.index("(") + 1 : stat.rindex(")")].startswith(name):
                found.append(int(entry.name))
    return found


def _reached(moment: str, p: subprocess.Popen, run_dir: Path) -> bool:
    if moment == "recorded":
        try:
            objects = json.loads((run_dir / "host-objects.json").read_text())["objects"]
        except (OSError, ValueError, KeyError):
            return False
        return any(o.get("kind") == "swtpm" for o in objects)
    return bool(_children(p.pid, "swtpm" if moment == "swtpm" else "qemu"))


def _settle(vm, timeout: float = 15) -> None:
    """Until only QEMU and swtpm are left: a child forked but not yet exec'd becomes one of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(comm(p).startswith(("qemu", "swtpm")) for p in vm.netns.pids()):
            return
        time.sleep(0.05)
    raise AssertionError(f"processes left: {[comm(p) for p in vm.netns.pids()]}")


@pytest.mark.parametrize("moment", ["recorded", "swtpm", "qemu"])
def test_up_killed_around_its_swtpm_leaves_nothing_gc_cannot_finish(vm, write_profile, moment):
    path = write_profile(BARE_TPM, NAME)
    run_dir = vm.runtime_dir / NAME
    p = vm.netns.popen(
        vmrun_bin(), "up", str(path), env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not _reached(moment, p, run_dir):
            assert p.poll() is None, f"vmrun up ended (exit {p.returncode}) before the moment {moment!r}"
            assert time.monotonic() < deadline, f"the moment {moment!r} of `vmrun up` was not reached"
            time.sleep(0.0005)
        p.send_signal(signal.SIGKILL)
    finally:
        _, err = p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL, err
    _settle(vm)

    if qemu_pids(vm.netns):
        # QEMU lives, with its swtpm: a VM like any other. gc leaves it; down takes both.
        assert moment == "qemu"
        r = vm("gc")
        assert r.returncode == 0 and r.stdout.strip() == "nothing to clean up", r.stdout + r.stderr
        assert len(live_swtpms(run_dir)) == 1
        r = vm("down", NAME, "--force", timeout=120)
    else:
        left = live_swtpms(run_dir)
        record = [o for o in json.loads((run_dir / "host-objects.json").read_text())["objects"]]
        print(f"killed at {moment!r}: swtpm left running {left}, on record {record}")
        if moment == "swtpm":
            assert len(left) == 1  # running, with no QEMU: only gc can stop it
        r = vm("gc")
        assert r.stdout.strip() == f"cleaned up: {NAME}", r.stdout + r.stderr
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert live_swtpms(run_dir) == []
    assert_nothing_left(vm)
    r = vm("up", str(path))  # the name is usable again, with the same TPM state
    assert r.returncode == 0, r.stderr
    assert vm("down", NAME, "--force").returncode == 0
    assert live_swtpms(run_dir) == []


def test_failed_up_stops_its_swtpm(vm, write_profile):
    path = write_profile(BARE_TPM.replace('machine = "q35"', 'machine = "q35"\nextra_args = ["-bogus"]'), NAME)
    r = vm("up", str(path))
    assert r.returncode == 1 and "-bogus: invalid option" in r.stderr, r.stderr
    no_traceback(r)
    assert live_swtpms(vm.runtime_dir / NAME) == []
    assert_nothing_left(vm)
