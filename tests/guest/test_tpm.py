"""[tpm] on the qemu engine: the guest sees the TPM swtpm emulates; no swtpm outlives its VM; the state stays.

swtpm exits by itself when QEMU closes its socket; `down` and `gc` must still leave no swtpm
running (a zombie is not running: PID 1 here reaps nothing), and the TPM's state stays in the
VM's data folder for the next `up`.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import guest_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]

NIC = '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n'


def live_swtpms(run_dir: Path) -> list[int]:
    """swtpm processes (not zombies) whose command line names ``run_dir``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] == "swtpm" and stat[stat.rindex(")") + 2] != "Z":
            if str(run_dir) + "/" in argv:
                found.append(int(entry))
    return found


def recorded_swtpm(run_dir: Path) -> dict:
    [record] = [o for o in json.loads((run_dir / "host-objects.json").read_text())["objects"] if o["kind"] == "swtpm"]
    return record


@pytest.mark.parametrize(("machine", "version", "seen"), [("q35", "2.0", "2"), ("pc", "1.2", "1")])
def test_guest_sees_the_tpm_and_down_leaves_no_swtpm(vm, write_profile, test_guest, machine, version, seen):
    tpm = f'machine = "{machine}"\n[tpm]\nversion = "{version}"\n'
    path = guest_profile(write_profile, test_guest, NIC, extra=tpm)
    run_dir = vm.runtime_dir / "g"
    state = Path(os.environ["VMRUN_DATA_DIR"]) / "g" / "tpm"
    r = vm("up", str(path), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    try:
        record = recorded_swtpm(run_dir)
        assert live_swtpms(run_dir) == [record["pid"]]
        assert record["ctrl"] == str(run_dir / "swtpm.sock")
        answer = vm.netns.http("http://127.0.0.1:8080/cgi-bin/tpm")
        assert f"tpm0 version={seen}" in answer, answer
    finally:
        r = vm("down", "g", "--timeout", "60")
    assert r.returncode == 0, r.stderr
    assert live_swtpms(run_dir) == [] and not run_dir.exists()
    permall = "tpm2-00.permall" if version == "2.0" else "tpm-00.permall"
    assert (state / permall).stat().st_size > 0  # the TPM's state outlives the run
    assert oct(state.stat().st_mode & 0o777) == "0o700"


def test_qemu_killed_then_gc_leaves_no_swtpm_and_keeps_the_state(vm, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, "", extra='machine = "q35"\n[tpm]\n')
    run_dir = vm.runtime_dir / "g"
    state = Path(os.environ["VMRUN_DATA_DIR"]) / "g" / "tpm"
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    swtpm = recorded_swtpm(run_dir)["pid"]
    assert live_swtpms(run_dir) == [swtpm]
    os.kill(entry["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while live_swtpms(run_dir) and time.monotonic() < deadline:  # swtpm goes when its socket closes
        time.sleep(0.05)
    r = vm("gc")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "cleaned up: g"
    assert live_swtpms(run_dir) == [] and not run_dir.exists()
    assert (state / "tpm2-00.permall").exists()
    # The next `up` starts from that state: swtpm is given the same folder.
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    try:
        [pid] = live_swtpms(run_dir)
        assert f"dir={state}" in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    finally:
        assert vm("down", "g", "--force").returncode == 0
    assert live_swtpms(run_dir) == []
