"""What the fault tests share: the BARE guest (no OS needed), vmrun in the background, the one line
the user sees, and the proof that nothing of a VM is left."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import links, vmrun_bin

NAME = "bare"
TAP = "vr-bare-net1"
BARE = 'name = "bare"\naccel = "tcg"\nmemory = "64M"\n[[nics]]\nid = "net0"\nhostfwd = ["tcp::2222-:22"]\n'
# ... plus a tap vmrun makes, on the bridge br0 of the test's namespace (see with_bridge)
BARE_TAP = BARE + '[[nics]]\nid = "net1"\ntype = "bridge"\nbridge = "br0"\nvia = "tap"\n'


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def qemu_pids(netns) -> list[int]:
    return [p for p in netns.pids() if "qemu" in comm(p)]


def no_traceback(*results: subprocess.CompletedProcess) -> None:
    for r in results:
        assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr


def one_error(stderr: str) -> str:
    """The one ``vmrun: error:`` line (a ``hint:`` line may follow it), no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("vmrun: error:")]
    assert len(errors) == 1, stderr
    rest = [line for line in lines if line not in errors and not line.startswith("vmrun: ")]
    assert all(line.startswith("  hint:") for line in rest) and len(rest) <= 1, stderr
    return errors[0]


def with_bridge(vm) -> set[str]:
    """br0 in the test's namespace; the links there before any VM, to compare with after."""
    vm.netns.ip("link", "add", "br0", "type", "bridge")
    vm.netns.ip("link", "set", "br0", "up")
    return links(vm.netns)


def popen(vm, *args: str) -> subprocess.Popen:
    return vm.netns.popen(vmrun_bin(), *args, env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a vmrun started with :func:`popen`; a hang fails the test instead of hanging the suite."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"vmrun {p.args[4:]} did not end within {timeout} s; stderr: {err}") from None
    return p.returncode, out, err


def assert_nothing_left(vm, before: set[str] | None = None, name: str = NAME) -> None:
    """No QEMU, no link beyond ``before`` (no vr- link if not given), no run folder, no lock file of ``name``."""
    assert qemu_pids(vm.netns) == []
    if before is None:
        assert [link for link in links(vm.netns) if link.startswith("vr")] == []
    else:
        assert links(vm.netns) == before
    assert not (vm.runtime_dir / name).exists()
    assert not (vm.runtime_dir / f".{name}.lock").exists()
