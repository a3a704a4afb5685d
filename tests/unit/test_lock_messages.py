"""Who holds a VM's lock, as the vmrun that waits for it (or gives up) says it: the whole command, the real pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vmrun.errors import StateError
from vmrun.rundir import RunDir

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
if sys.argv[2]:
    os.ftruncate(fd, 0)
    os.pwrite(fd, sys.argv[2].encode(), 0)
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def hold(runtime_dir):
    held = []

    def start(path: Path, text: str) -> subprocess.Popen:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        p = subprocess.Popen([sys.executable, "-c", HOLD, str(path), text], stdout=subprocess.PIPE, text=True)
        held.append(p)
        assert p.stdout.readline() == "held\n"
        return p

    yield start
    for p in held:
        p.kill()
        p.wait()


def busy(run: RunDir) -> str:
    with pytest.raises(StateError) as e:
        with run.locked("nic add", wait=0):
            pass
    return e.value.message


def test_a_vmrun_holder_is_named_with_its_whole_command(hold):
    run = RunDir.for_vm("web")
    p = hold(run.lock_path, "4242 snapshot save\n")
    # The pid the file names is not the holder's: the kernel's is believed (a vmrun that has not written yet).
    message = busy(run)
    assert message.startswith(f"web is busy: pid {p.pid} ({sys.executable} -c import fcntl, os, sys, time fd = ")
    assert message.endswith(f"...) holds its lock {run.lock_path}") and "\n" not in message
    p.kill()
    p.wait()
    p = hold(run.lock_path, "")
    run.lock_path.write_text(f"{p.pid} fwd add\n")
    assert busy(run) == f"web is busy: another vmrun (pid {p.pid}) is running `vmrun fwd add` on it"


def test_a_holder_that_is_not_vmrun_is_named_by_its_pid_and_command(hold):
    """Was "pid ?" (nothing written), or the pid of the last vmrun that held it (its words left in the file)."""
    run = RunDir.for_vm("web")
    run.lock_path.parent.mkdir(mode=0o700, parents=True)
    run.lock_path.write_text("1 up\n")  # what an earlier vmrun left
    p = subprocess.Popen(["flock", str(run.lock_path), "sleep", "60"])
    try:
        for _ in range(200):
            if str(p.pid) in Path("/proc/locks").read_text():
                break
            subprocess.run(["sleep", "0.01"])
        message = busy(run)
    finally:
        p.kill()
        p.wait()
    assert message.startswith(f"web is busy: pid {p.pid} (flock /") and message.endswith(
        f") holds its lock {run.lock_path}"
    )
