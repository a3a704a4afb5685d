"""[[shares]] going wrong: refused before anything starts (one line, exit 2), an `up` that fails after its
virtiofsd started, and a vmrun killed with SIGKILL once its virtiofsd runs: no virtiofsd is left running."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import vmrun_bin
from tests.faults.util import BARE, NAME, assert_nothing_left, no_traceback, one_error
from tests.guest.test_shares import live_virtiofsds, lock_files, shares

pytestmark = pytest.mark.root


def test_missing_source_is_one_line_and_starts_nothing(vm, write_profile, tmp_path):
    path = write_profile(BARE + shares((tmp_path / "nowhere", "data", "virtiofs", False)), NAME)
    r = vm("up", str(path))
    assert r.returncode == 2
    assert one_error(r.stderr) == f"vmrun: error: {path}: shares[0].source: {tmp_path / 'nowhere'} does not exist"
    (tmp_path / "afile").write_text("")
    path = write_profile(BARE + shares((tmp_path / "afile", "data", "9p", False)), NAME)
    r = vm("up", str(path))
    assert r.returncode == 2
    assert one_error(r.stderr) == f"vmrun: error: {path}: shares[0].source: {tmp_path / 'afile'} is not a folder"
    assert not (vm.runtime_dir / NAME).exists()


def test_source_another_user_could_swap_is_refused(vm, write_profile, tmp_path):
    """As root: a folder inside one someone else owns could be replaced by a link to / before virtiofsd starts."""
    theirs = tmp_path / "theirs"
    (theirs / "data").mkdir(parents=True)
    subprocess.run(["chown", "nobody", str(theirs)], check=True)
    path = write_profile(BARE + shares((theirs / "data", "data", "virtiofs", False)), NAME)
    r = vm("up", str(path))
    assert r.returncode == 2
    line = one_error(r.stderr)
    assert f"shares[0].source: {theirs / 'data'} is not to be shared: {theirs} is owned by nobody" in line, line


def test_failed_up_stops_its_virtiofsd(vm, write_profile, tmp_path):
    (tmp_path / "data").mkdir()
    text = BARE.replace('memory = "64M"', 'memory = "64M"\nextra_args = ["-bogus"]')
    path = write_profile(text + shares((tmp_path / "data", "data", "virtiofs", True)), NAME)
    r = vm("up", str(path))
    assert r.returncode == 1 and "-bogus: invalid option" in r.stderr, r.stderr
    no_traceback(r)
    assert live_virtiofsds(vm.runtime_dir / NAME) == []
    assert lock_files(vm.runtime_dir / NAME) == []
    assert_nothing_left(vm)


def test_up_killed_once_its_virtiofsd_runs_leaves_nothing_gc_cannot_finish(vm, write_profile, tmp_path):
    (tmp_path / "data").mkdir()
    path = write_profile(BARE + shares((tmp_path / "data", "data", "virtiofs", False)), NAME)
    run_dir = vm.runtime_dir / NAME
    p = vm.netns.popen(
        vmrun_bin(), "up", str(path), env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not live_virtiofsds(run_dir):
            assert p.poll() is None, f"vmrun up ended (exit {p.returncode}) before its virtiofsd ran"
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        p.send_signal(signal.SIGKILL)
    finally:
        _, err = p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL, err
    time.sleep(0.5)  # a QEMU forked but not yet exec'd becomes QEMU, or nothing
    print("on record:", json.loads((run_dir / "host-objects.json").read_text())["objects"])
    if json.loads(vm("ps", "--json").stdout or "[]"):
        r = vm("down", NAME, "--force")  # QEMU lives: a VM like any other
    else:
        r = vm("gc")
        assert r.stdout.strip() == f"cleaned up: {NAME}", r.stdout + r.stderr
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert live_virtiofsds(run_dir) == []
    assert lock_files(run_dir) == []
    assert_nothing_left(vm)
