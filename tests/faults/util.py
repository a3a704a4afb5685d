"""What every fault test checks: the one line the user sees, and that nothing of the VM is left."""

from __future__ import annotations

from pathlib import Path


def qemu_pids(netns) -> list[int]:
    pids = []
    for pid in netns.pids():
        try:
            if "qemu" in Path(f"/proc/{pid}/comm").read_text():
                pids.append(pid)
        except OSError:
            pass
    return pids


def one_error(stderr: str) -> str:
    """The ``vmrun: error:`` line, after checking it is the only one and no traceback came with it."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("vmrun: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def assert_nothing_left(vm, name: str) -> None:
    """No QEMU, no vr- link, no run folder, no lock file of ``name``."""
    from tests.conftest import links

    assert qemu_pids(vm.netns) == []
    assert [link for link in links(vm.netns) if link.startswith("vr")] == []
    assert not (vm.runtime_dir / name).exists()
    assert not (vm.runtime_dir / f".{name}.lock").exists()
