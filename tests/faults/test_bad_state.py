"""Run-state files vmrun cannot use, and a disk that fills up under `vmrun up` (issue 9, defect 8).

One bad file must cost the user one notice, never a traceback, and never the other VMs: `ps`
still lists them, `gc` still cleans, `down` still stops. A full runtime folder makes `up` fail
with one line naming the path and the reason, and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import links
from tests.faults.util import (
    BARE,
    BARE_TAP,
    NAME,
    TAP,
    assert_nothing_left,
    no_traceback,
    one_error,
    qemu_pids,
    with_bridge,
)

pytestmark = pytest.mark.root


# --- helpers -------------------------------------------------------------------------------------


def kill_qemu(vm, pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid in qemu_pids(vm.netns) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in qemu_pids(vm.netns)


# --- (a) a bad state.json beside a healthy VM ------------------------------------------------------

BAD_STATES = {"string": '"a string"', "list": "[1, 2]", "pid-self": '{"pid": "self"}'}


def plant_bad(vm, text: str) -> Path:
    folder = vm.runtime_dir / "bad"
    folder.mkdir(mode=0o700)
    path = folder / "state.json"
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("kind", list(BAD_STATES))
def test_bad_state_file_beside_a_healthy_vm(vm, write_profile, kind):
    """Defect 8: a state.json holding a string, a list or {"pid": "self"} costs one note; the healthy VM is untouched."""
    before = links(vm.netns)
    path = write_profile(BARE, NAME)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [pid] = qemu_pids(vm.netns)
    bad = plant_bad(vm, BAD_STATES[kind])

    r = vm("ps")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    [row] = [line for line in r.stdout.splitlines() if line.startswith(f"{NAME} ")]
    assert str(pid) in row and "running" in row and "(" not in row, r.stdout  # no note for the healthy one
    assert (r.stdout + r.stderr).count(str(bad)) == 1, (r.stdout, r.stderr)
    r = vm("ps", "--json")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    entries = {e["name"]: e for e in json.loads(r.stdout)}
    assert entries[NAME]["pid"] == pid and entries[NAME]["status"] == "running" and entries[NAME]["note"] is None
    assert "bad" not in entries or (entries["bad"]["pid"] is None and str(bad) in (entries["bad"]["note"] or ""))

    r = vm("gc")
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert r.stdout.strip() == "cleaned up: bad"
    assert not bad.parent.exists() and not (vm.runtime_dir / ".bad.lock").exists()
    assert qemu_pids(vm.netns) == [pid] and (vm.runtime_dir / NAME / "state.json").exists()

    bad = plant_bad(vm, BAD_STATES[kind])
    r = vm("down", "bad")
    assert r.returncode in (0, 1), r.stderr
    no_traceback(r)
    out = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert len(r.stderr.splitlines()) == 1 and str(bad) in r.stderr, (r.stdout, r.stderr)
    assert len(out) <= 2, out
    if r.returncode == 0:
        assert not bad.parent.exists() and not (vm.runtime_dir / ".bad.lock").exists()
    assert qemu_pids(vm.netns) == [pid]
    assert vm("ps", "--json").returncode == 0

    r = vm("down", NAME, "--force")
    assert r.returncode == 0, r.stderr
    assert_nothing_left(vm, before)
    r = vm("gc")
    assert r.returncode == 0 and not bad.parent.exists(), (r.stdout, r.stderr)


# --- (b) a host-objects.json that is not a record list, and a record of an unknown kind ---------------


@pytest.mark.parametrize("command", ["gc", "down"])
def test_host_objects_not_a_list_is_not_acted_on_and_the_folder_goes(vm, write_profile, command):
    """Defect 8: host-objects.json holding {"a": 1} after the VM died: a notice, nothing acted on, folder cleaned."""
    before = links(vm.netns)
    path = write_profile(BARE, NAME)
    assert vm("up", str(path)).returncode == 0
    [pid] = qemu_pids(vm.netns)
    kill_qemu(vm, pid)
    objects = vm.runtime_dir / NAME / "host-objects.json"
    objects.write_text(json.dumps({"a": 1}))

    r = vm(command, *([NAME] if command == "down" else []))
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert r.stdout.strip() == ("cleaned up: bare" if command == "gc" else "bare: was not running")
    notices = [line for line in r.stderr.splitlines() if str(objects) in line]
    assert len(notices) == 1 and notices[0].startswith("vmrun: ") and "error" not in notices[0], r.stderr
    assert_nothing_left(vm, before)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert vm("down", NAME, "--force").returncode == 0
    assert_nothing_left(vm, before)


@pytest.mark.parametrize("command", ["gc", "down"])
def test_unknown_record_beside_a_real_tap_record(vm, write_profile, command):
    """Defect 8: a record of unknown kind {"kind": "wat"} next to the tap record of a dead VM: the tap is
    released, the folder removed, a notice names the unknown record; the name can be used again."""
    before = with_bridge(vm)
    path = write_profile(BARE_TAP, NAME)
    assert vm("up", str(path)).returncode == 0
    [pid] = qemu_pids(vm.netns)
    kill_qemu(vm, pid)
    deadline = time.monotonic() + 10
    while TAP in links(vm.netns) and time.monotonic() < deadline:  # the tap goes with QEMU's fds
        time.sleep(0.05)
    # A tap of that name that outlived its QEMU (persistent), recorded as the VM's own.
    vm.netns.ip("tuntap", "add", "dev", TAP, "mode", "tap")
    index = int(vm.netns.run("ip", "-o", "link", "show", TAP, check=True).stdout.split(":", 1)[0])
    objects = vm.runtime_dir / NAME / "host-objects.json"
    objects.write_text(
        json.dumps(
            {
                "schema": 2,
                "objects": [
                    {"kind": "wat"},
                    {"kind": "link", "name": TAP, "ifindex": index, "link_kind": "tap", "nic": "net1"},
                ],
            }
        )
    )

    r = vm(command, *([NAME] if command == "down" else []))
    assert r.returncode == 0, r.stderr
    no_traceback(r)
    assert r.stdout.strip() == ("cleaned up: bare" if command == "gc" else "bare: was not running")
    assert r.stderr.splitlines() == [f"vmrun: {objects}: objects[0]: unknown kind 'wat'; not acted on"], r.stderr
    assert_nothing_left(vm, before)

    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert TAP in links(vm.netns)
    r = vm("down", NAME, "--force")
    assert r.returncode == 0, r.stderr
    assert_nothing_left(vm, before)


# --- (c) the runtime folder fills up during `vmrun up` ----------------------------------------------

# (what runs out, how much is left, which file the failure lands on: names the error line may give)
FULL = {
    "lock": ("pages", 0, (".bare.lock",)),
    "host-objects": ("pages", 1, ("host-objects.json",)),
    "state": ("pages", 2, ("state.json",)),
    "state-after-spawn": ("pages", 4, ("state.json", "qemu.pid")),
    "state-no-inode": ("inodes", 5, ("state.json",)),
    "qemu-log-no-inode": ("inodes", 6, ("qemu.log",)),
    "serial-log-no-inode": ("inodes", 8, ("serial.log", "serial.sock", "qemu.pid")),
}
SIZE = 100 * 1024
PAGE = 4096


@pytest.mark.parametrize("case", list(FULL))
def test_up_on_a_full_runtime_folder(vm, write_profile, case):
    """Defect 8: ENOSPC during `vmrun up` (a small tmpfs as VMRUN_RUNTIME_DIR): exit 1, one line naming the file
    and "No space left on device" plus a hint, no traceback, no QEMU, nothing left."""
    before = with_bridge(vm)
    path = write_profile(BARE_TAP, NAME)
    what, left, names = FULL[case]
    run = vm.runtime_dir
    run.mkdir(mode=0o700)
    options = f"size={SIZE},mode=0700" if what == "pages" else f"size=1m,nr_inodes={left},mode=0700"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(run)], check=True)
    try:
        if what == "pages":
            with open(run / ".fill", "wb") as f:
                f.write(b"\0" * (SIZE - left * PAGE))
            assert os.statvfs(run).f_bavail * os.statvfs(run).f_frsize == left * PAGE
        r = vm("up", str(path))
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stdout == ""
        line = one_error(r.stderr)
        assert len(r.stderr.splitlines()) == 2, r.stderr  # the error and its hint
        # Everything else is gathered, so that one run shows every way the case goes wrong.
        problems = []
        if "No space left on device" not in line:
            problems.append("the error does not say 'No space left on device'")
        if str(run) + "/" not in line:
            problems.append("the error names no file of the runtime folder")
        elif not any(name in line for name in names):
            problems.append(f"the error does not name the file the failure landed on ({' or '.join(names)})")
        if qemu_pids(vm.netns):
            problems.append(f"QEMU left: {qemu_pids(vm.netns)}")
        if links(vm.netns) != before:
            problems.append(f"links left: {links(vm.netns) - before}")
        left_files = sorted(p.name for p in run.iterdir() if p.name != ".fill")
        if left_files:
            problems.append(f"left in the runtime folder: {left_files}")
        assert not problems, f"{'; '.join(problems)}; stderr: {r.stderr!r}"
    finally:
        for pid in qemu_pids(vm.netns):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        if subprocess.run(["umount", str(run)]).returncode != 0:
            subprocess.run(["umount", "-l", str(run)])
