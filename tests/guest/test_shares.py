"""[[shares]] on the qemu engine: the guest mounts host folders by tag; no virtiofsd outlives its VM.

One booted guest serves the checks: a virtiofs share read and written (the host sees the file), a
read-only 9p share read and refusing writes, a read-only virtiofs share (virtiofsd in a mount
namespace of its own where the folder is a read-only bind mount) likewise, nothing mounted on the
host. `down`, and `gc` after QEMU was killed, leave no virtiofsd running (a zombie is not running:
PID 1 here reaps nothing) and none of the C virtiofsd's lock files.
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


def live_virtiofsds(run_dir: Path) -> list[int]:
    """virtiofsd processes (not zombies) whose command line names ``run_dir``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] == "virtiofsd" and stat[stat.rindex(")") + 2] != "Z":
            if str(run_dir) + "/" in argv:
                found.append(int(entry))
    return found


def lock_files(run_dir: Path) -> list[Path]:
    """The pid files QEMU's C virtiofsd keeps in /run/virtiofsd for sockets in ``run_dir``."""
    folder = Path("/run/virtiofsd")
    prefix = str(run_dir).replace("/", ".")
    return [p for p in folder.iterdir() if p.name.startswith(prefix)] if folder.exists() else []


def shares(*tables: tuple[str, str, str, bool]) -> str:
    return "".join(
        f'[[shares]]\nsource = "{src}"\ntag = "{tag}"\ntype = "{kind}"\nreadonly = {str(ro).lower()}\n'
        for src, tag, kind, ro in tables
    )


def test_guest_reads_and_writes_its_shares_and_down_leaves_no_virtiofsd(vm, write_profile, test_guest, tmp_path):
    rw, ro9p, rofs = tmp_path / "rw", tmp_path / "ro9p", tmp_path / "rofs"
    for folder, text in ((rw, "from-host"), (ro9p, "nine-pee"), (rofs, "read-only")):
        folder.mkdir()
        (folder / "hello").write_text(text + "\n")
    extra = shares((rw, "rw", "virtiofs", False), (ro9p, "ro9p", "9p", True), (rofs, "rofs", "virtiofs", True))
    path = guest_profile(write_profile, test_guest, NIC + extra)
    run_dir = vm.runtime_dir / "g"
    r = vm("up", str(path), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    try:
        records = [o for o in json.loads((run_dir / "host-objects.json").read_text())["objects"]]
        assert [o["kind"] for o in records] == ["virtiofsd", "virtiofsd"]
        assert [o["socket"] for o in records] == [str(run_dir / "virtiofs0.sock"), str(run_dir / "virtiofs2.sock")]
        assert {o["pid"] for o in records} <= set(live_virtiofsds(run_dir))

        answer = vm.netns.http("http://127.0.0.1:8080/cgi-bin/share?tag=rw&write=from-guest")
        assert "type virtiofs" in answer and "wrote from-guest" in answer, answer
        assert "file hello from-host" in answer, answer
        assert (rw / "from-guest").read_text() == "from-guest\n"  # the host sees what the guest wrote

        answer = vm.netns.http("http://127.0.0.1:8080/cgi-bin/share?tag=ro9p&write=nope")
        assert "type 9p" in answer and "file hello nine-pee" in answer, answer
        assert "write failed: Read-only file system" in answer, answer
        assert not (ro9p / "from-guest").exists()

        answer = vm.netns.http("http://127.0.0.1:8080/cgi-bin/share?tag=rofs&write=nope")
        assert "type virtiofs" in answer and "file hello read-only" in answer, answer
        assert "write failed: Read-only file system" in answer, answer
        assert not (rofs / "from-guest").exists()
        assert str(rofs) not in Path("/proc/self/mountinfo").read_text()  # the read-only view is the daemon's own
    finally:
        r = vm("down", "g", "--timeout", "60")
    assert r.returncode == 0, r.stderr
    assert live_virtiofsds(run_dir) == [] and not run_dir.exists()
    assert lock_files(run_dir) == []


def test_qemu_killed_then_gc_leaves_no_virtiofsd(vm, write_profile, test_guest, tmp_path):
    (tmp_path / "data").mkdir()
    path = guest_profile(write_profile, test_guest, "", extra=shares((tmp_path / "data", "data", "virtiofs", False)))
    run_dir = vm.runtime_dir / "g"
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert len(live_virtiofsds(run_dir)) >= 1
    os.kill(entry["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not Path(f"/proc/{entry['pid']}/stat").read_text().split(")")[1].split()[0] == "Z":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = vm("gc")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "cleaned up: g"
    assert live_virtiofsds(run_dir) == [] and not run_dir.exists()
    assert lock_files(run_dir) == []
