"""Signals in the middle of a command (issue 9, defect 9): `nic add` cut short by SIGTERM or SIGKILL,
two quick SIGTERMs during `up --wait`, SIGHUP during `down`.

The moment to signal is found, not slept for: `ip monitor link` in the test's namespace reports the
tap a `nic add` makes the instant the kernel has it; the run folder's state.json says when an `up`
has a running QEMU; `down`'s own progress line (or its QEMU's exit) says where it is.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.conftest import links, vmrun_bin
from tests.faults.util import finish, popen
from tests.launch.test_lifecycle import BARE, qemu_pids

pytestmark = pytest.mark.root

BRIDGED = BARE + '[[nics]]\nid = "net1"\ntype = "bridge"\nbridge = "br0"\nvia = "tap"\n'
TRIES = 6  # attempts to catch a `nic add` between its tap and its device_add
ROUNDS = 3
ASYNCIO_NOISE = (
    "Task was destroyed",
    "Exception ignored",
    "Event loop is closed",
    "was never awaited",
    "RuntimeError",
    "asyncio",
    "Traceback",
)


# --- helpers ---


def make_bridge(vm) -> None:
    vm.netns.ip("link", "add", "br0", "type", "bridge")
    vm.netns.ip("link", "set", "br0", "up")


def up_bare(vm, write_profile, text: str = BARE) -> int:
    r = vm("up", str(write_profile(text)), timeout=120)
    assert r.returncode == 0, r.stderr
    [pid] = qemu_pids(vm.netns)
    return pid


def read_json(path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def state_nics(vm) -> dict[str, dict]:
    state = read_json(vm.runtime_dir / "bare" / "state.json")
    assert state is not None
    return {n["id"]: n for n in state["nics"]}


def recorded_for(vm, nic_id: str) -> list[dict]:
    objects = read_json(vm.runtime_dir / "bare" / "host-objects.json") or {"objects": []}
    return [o for o in objects["objects"] if o.get("nic") == nic_id]


def info_network(vm) -> str:
    r = vm("qmp", "bare", "human-monitor-command", '{"command-line": "info network"}', timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def listed_nics(vm) -> dict[str, dict]:
    r = vm("nic", "list", "bare", "--json", timeout=60)
    assert r.returncode == 0, r.stderr
    return {n["id"]: n for n in json.loads(r.stdout)}


def tun_fds(pid: int) -> int:
    """How many fds QEMU holds on /dev/net/tun (a tap it was handed and never let go of).

    Read as ".../net/tun": opened in `ip netns exec`'s mount namespace, it reads "/net/tun" from ours.
    """
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").endswith("/net/tun")
        except OSError:
            pass
    return count


def has_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text) is not None


def assert_nothing_left(vm, before: set[str]) -> None:
    assert qemu_pids(vm.netns) == []
    assert links(vm.netns) == before, f"links left: {links(vm.netns) - before}"
    assert not (vm.runtime_dir / "bare").exists(), "run folder left"
    assert not (vm.runtime_dir / ".bare.lock").exists(), "lock file left"


def assert_one_error_line(err: str, *, says: str, round_: int | None = None) -> None:
    """stderr holds vmrun's own lines only (notices, one error), no traceback or asyncio noise."""
    where = "" if round_ is None else f"round {round_}: "
    for noise in ASYNCIO_NOISE:
        assert noise not in err, f"{where}{noise!r} on stderr:\n{err}"
    lines = err.splitlines()
    assert all(line.startswith(("vmrun: ", "  hint: ")) for line in lines), f"{where}stray lines on stderr:\n{err}"
    errors = [line for line in lines if line.startswith("vmrun: error: ")]
    assert errors == [f"vmrun: error: {says}"], f"{where}{err}"


@contextmanager
def cleanup_on_failure(vm):
    try:
        yield
    except BaseException:
        vm("down", "bare", "--force", timeout=60)
        for pid in qemu_pids(vm.netns):
            os.kill(pid, signal.SIGKILL)
        raise


class LinkWatch:
    """`ip monitor link` in the namespace: the moment a link appears, without polling."""

    def __init__(self, vm) -> None:
        self.vm = vm
        self.p = subprocess.Popen(["ip", "-n", vm.netns.name, "monitor", "link"], stdout=subprocess.PIPE)
        self.buf = b""
        # Make sure it listens before anything is started: take br0 down and up, and wait to be told.
        try:
            vm.netns.ip("link", "set", "br0", "down")
            vm.netns.ip("link", "set", "br0", "up")
            self.wait_for("br0:", timeout=10)
        except BaseException:
            self.close()
            raise

    def wait_for(self, word: str, timeout: float, while_alive: subprocess.Popen | None = None) -> bool:
        """True as soon as a reported link line names ``word``; False if ``while_alive`` ended first."""
        deadline = time.monotonic() + timeout
        needle = word.encode()
        while True:
            lines = self.buf.split(b"\n")
            self.buf = lines.pop()
            if any(needle in line for line in lines):
                return True
            if while_alive is not None and while_alive.poll() is not None:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"ip monitor did not report {word} within {timeout} s")
            ready, _, _ = select.select([self.p.stdout], [], [], min(left, 0.01))
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("ip monitor ended")
                self.buf += chunk

    def close(self) -> None:
        self.p.kill()
        self.p.wait()


def nic_add_cut_short(vm, sig: int, moment: str, qemu: int, tries: int = TRIES) -> tuple[str, int, str, list[str]]:
    """`nic add bare --bridge br0 --via tap --id netK`, signalled at ``moment``:

    - ``tap``: the instant its tap appears (reported by `ip monitor link`): before QEMU has anything;
    - ``fd``: the instant QEMU holds the tap's fd (``getfd`` done, ``netdev_add`` next or under way).

    Returns (the id of the add that was really cut short, its exit code, its stderr, the ids of
    tries that finished before the signal could land). A try that finished first is left in place
    (the BARE guest cannot release a device) and the next try uses the next id.
    """
    finished: list[str] = []
    watch = LinkWatch(vm) if moment == "tap" else None
    try:
        for i in range(1, tries + 1):
            nic_id = f"net{i}"
            held = tun_fds(qemu)
            p = popen(vm, "nic", "add", "bare", "--bridge", "br0", "--via", "tap", "--id", nic_id)
            if watch is not None:
                seen = watch.wait_for(f"vr-bare-{nic_id}", timeout=60, while_alive=p)
            else:
                deadline = time.monotonic() + 60
                while not (seen := tun_fds(qemu) > held) and p.poll() is None:
                    assert time.monotonic() < deadline, "QEMU was never handed the tap's fd"
                    time.sleep(0.0005)
            if seen and p.poll() is None:
                p.send_signal(sig)
            rc, out, err = finish(p)
            if rc == 0:
                assert "Traceback" not in err, err
                finished.append(nic_id)
                continue
            assert seen, f"`nic add --id {nic_id}` failed before the moment to signal: {rc} {err}"
            return nic_id, rc, err, finished
    finally:
        if watch is not None:
            watch.close()
    raise AssertionError(f"in {tries} tries no `nic add` was still under way at the moment ({moment}) to signal it")


MOMENTS = ["tap", "fd"]


# --- defect 9 (a): SIGTERM during `nic add` ---


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigterm_during_nic_add_unwinds_it(vm, write_profile, moment):
    """Defect 9 (a): `nic add` interrupted by SIGTERM between making its tap and plugging the device
    (``tap``: right after the tap exists; ``fd``: right after QEMU was handed the tap's fd).

    Before the fix the signal killed vmrun mid-way: the tap (or the netdev, or the fd handed to
    QEMU) stayed, and state.json did not know. Now it unwinds: exit 130, "interrupted", no tap,
    nothing of the NIC in QEMU or in the run folder, and the same id can be added again.
    """
    make_bridge(vm)
    before = links(vm.netns)
    pid = up_bare(vm, write_profile)
    with cleanup_on_failure(vm):
        nic_id, rc, err, finished = nic_add_cut_short(vm, signal.SIGTERM, moment, pid)
        assert rc == 130, (rc, err)
        assert_one_error_line(err, says="interrupted")

        tap = f"vr-bare-{nic_id}"
        assert links(vm.netns) == before | {f"vr-bare-{f}" for f in finished}, f"{tap} left"
        assert not has_word(info_network(vm), nic_id), info_network(vm)
        assert nic_id not in listed_nics(vm)
        assert nic_id not in state_nics(vm)
        assert recorded_for(vm, nic_id) == []
        assert tun_fds(pid) == len(finished), "QEMU still holds the interrupted NIC's tap fd"

        r = vm("nic", "add", "bare", "--bridge", "br0", "--via", "tap", timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"bare: added {nic_id} ("), r.stdout
        assert tap in links(vm.netns)
        assert state_nics(vm)[nic_id]["phase"] == "running"
        assert listed_nics(vm)[nic_id]["origin"] == "hot-plugged"

        r = vm("down", "bare", "--force", timeout=60)
        assert r.returncode == 0, r.stderr
    assert_nothing_left(vm, before)


def test_device_add_works_without_a_guest(vm, write_profile):
    """Defect 9 (a), premise: on BARE (pc machine, no guest OS) `nic add` plugs a device, so the
    interrupted adds above are interrupted adds, not adds that could never succeed."""
    make_bridge(vm)
    before = links(vm.netns)
    up_bare(vm, write_profile)
    with cleanup_on_failure(vm):
        r = vm("nic", "add", "bare", "--bridge", "br0", "--via", "tap", timeout=120)
        assert r.returncode == 0, r.stderr
        assert "bare: added net1 (virtio-net-pci" in r.stdout and "tap=vr-bare-net1" in r.stdout
        assert has_word(info_network(vm), "net1")
        assert listed_nics(vm)["net1"]["origin"] == "hot-plugged"
        r = vm("down", "bare", "--force", timeout=60)
        assert r.returncode == 0, r.stderr
    assert_nothing_left(vm, before)


# --- defect 9 (b): SIGKILL during `nic add` ---


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_during_nic_add_leaves_a_nic_nic_del_removes(vm, write_profile, moment):
    """Defect 9 (b): `nic add` killed with SIGKILL once its tap exists.

    Nothing can unwind then; what must hold is that the half-made NIC is known (state.json: phase
    "adding", `nic add --id` refuses the id naming the interrupted add), that `nic del` takes it out
    (tap, netdev, any fd handed to QEMU, entry) and that `down` leaves nothing.
    """
    make_bridge(vm)
    before = links(vm.netns)
    pid = up_bare(vm, write_profile)
    with cleanup_on_failure(vm):
        nic_id, rc, err, finished = nic_add_cut_short(vm, signal.SIGKILL, moment, pid)
        assert rc == -signal.SIGKILL, (rc, err)
        tap = f"vr-bare-{nic_id}"

        nics = state_nics(vm)
        assert nic_id in nics and nics[nic_id]["phase"] == "adding", nics
        listed = listed_nics(vm)
        assert nic_id not in listed or listed[nic_id]["origin"] == "interrupted add", listed

        r = vm("nic", "add", "bare", "--bridge", "br0", "--via", "tap", "--id", nic_id, timeout=120)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert f"'{nic_id}' is already a NIC of bare (left by an interrupted nic add)" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr

        r = vm("nic", "del", "bare", nic_id, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"bare: removed {nic_id}", r.stdout
        assert "Traceback" not in r.stderr
        assert tap not in links(vm.netns)
        assert links(vm.netns) == before | {f"vr-bare-{f}" for f in finished}
        assert nic_id not in state_nics(vm)
        assert recorded_for(vm, nic_id) == []
        assert not has_word(info_network(vm), nic_id)
        assert tun_fds(pid) == len(finished), "QEMU still holds the killed add's tap fd (getfd never closed)"

        r = vm("down", "bare", "--force", timeout=60)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
    assert_nothing_left(vm, before)


# --- defect 9 (c): two quick SIGTERMs during `up --wait` ---


def test_two_quick_sigterms_during_up_wait(vm, write_profile):
    """Defect 9 (c): a second SIGTERM ~10 ms after the first (a service manager, an impatient user)
    used to cut the rollback of an interrupted `up --wait` short: QEMU or the run folder stayed,
    with a traceback or asyncio noise. Now the second is ignored and the up is undone. Three rounds.
    """
    make_bridge(vm)
    before = links(vm.netns)
    path = write_profile(BRIDGED)
    state = vm.runtime_dir / "bare" / "state.json"
    for round_ in range(ROUNDS):
        with cleanup_on_failure(vm):
            p = popen(vm, "up", str(path), "--wait")
            deadline = time.monotonic() + 60
            while (read_json(state) or {}).get("phase") != "running":
                assert p.poll() is None, f"up --wait ended early: {p.communicate()}"
                assert time.monotonic() < deadline, "state.json never said running"
                time.sleep(0.01)
            p.send_signal(signal.SIGTERM)
            time.sleep(0.01)
            p.send_signal(signal.SIGTERM)
            rc, out, err = finish(p)
            assert rc == 130, f"round {round_}: exit {rc}: {err}"
            assert_one_error_line(err, says="interrupted", round_=round_)
            assert_nothing_left(vm, before)


# --- defect 9 (d): SIGHUP during `down` ---


def _read_until(p: subprocess.Popen, text: str, timeout: float) -> str:
    """stderr of ``p`` until it holds ``text``."""
    got = b""
    deadline = time.monotonic() + timeout
    fd = p.stderr.fileno()
    while text.encode() not in got:
        left = deadline - time.monotonic()
        assert left > 0 and p.poll() is None, f"never said {text!r}: {got.decode()}"
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            got += chunk
    return got.decode()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.mark.parametrize("moment", ["waiting-for-power-off", "releasing"])
def test_sighup_during_down_leaves_no_half_removed_vm(vm, write_profile, moment):
    """Defect 9 (d): SIGHUP (a closed terminal, a service manager) during `down`.

    Before the fix a `down` cut short could leave a half-removed VM: run folder or records gone
    while QEMU ran, or a folder nothing would clean. Now it either completes, or the VM stays
    fully known (`ps` lists it) and a second `down` leaves nothing.
    """
    make_bridge(vm)
    before = links(vm.netns)
    pid = up_bare(vm, write_profile, BRIDGED)
    with cleanup_on_failure(vm):
        if moment == "waiting-for-power-off":
            # BARE has no OS to answer the power button: down waits for it, then quits QEMU.
            p = vm.netns.popen(
                vmrun_bin(),
                "down",
                "bare",
                "--timeout",
                "10",
                env=vm.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            early = _read_until(p, "waiting up to 10 s for the guest to power off", timeout=60)
        else:
            p = vm.netns.popen(
                vmrun_bin(), "down", "bare", "--force", env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            early = ""
            deadline = time.monotonic() + 60
            while not _gone(pid):
                assert time.monotonic() < deadline and p.poll() is None, "QEMU did not go"
                time.sleep(0.001)
        p.send_signal(signal.SIGHUP)
        out, rest = p.communicate(timeout=120)
        err = early + rest.decode()
        assert "Traceback" not in err, err
        assert p.returncode in (0, 130), (p.returncode, err)
        if p.returncode == 130:
            assert "vmrun: error: interrupted" in err, err
        if moment == "waiting-for-power-off":
            # Signalled while QEMU ran: down stops where it is; the VM is as it was.
            assert p.returncode == 130, (p.returncode, err)
            assert qemu_pids(vm.netns) == [pid]
            [entry] = json.loads(vm("ps", "--json", timeout=60).stdout)
            assert entry["name"] == "bare" and entry["pid"] == pid and entry["status"] == "running", entry
            assert "vr-bare-net1" in links(vm.netns)
            assert state_nics(vm).keys() == {"net0", "net1"}
            assert recorded_for(vm, "net1") != []
        if (vm.runtime_dir / "bare").exists():
            # Not finished: still fully known, and a second down finishes it.
            listed = json.loads(vm("ps", "--json", timeout=60).stdout)
            assert [e["name"] for e in listed] == ["bare"], listed
            r = vm("down", "bare", "--force", timeout=60)
            assert r.returncode == 0, r.stderr
            assert "Traceback" not in r.stderr
        assert_nothing_left(vm, before)
