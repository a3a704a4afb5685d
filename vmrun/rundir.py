"""The per-VM run folder (0700): QMP and serial sockets, logs and ``state.json``.

``$VMRUN_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/vmrun``, else ``/run/vmrun`` for
root, else a private folder under /tmp.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmrun.errors import StateError
from vmrun.files import replace_file


def runtime_root() -> Path:
    if os.environ.get("VMRUN_RUNTIME_DIR"):
        return Path(os.environ["VMRUN_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "vmrun"
    if os.geteuid() == 0:
        return Path("/run/vmrun")
    return Path(tempfile.gettempdir()) / f"vmrun-{os.geteuid()}"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def for_vm(cls, name: str) -> RunDir:
        return cls(runtime_root() / name)

    @property
    def name(self) -> str:
        return self.path.name

    qmp = property(lambda self: self.path / "qmp.sock")
    serial = property(lambda self: self.path / "serial.sock")
    serial_log = property(lambda self: self.path / "serial.log")
    qemu_log = property(lambda self: self.path / "qemu.log")
    state_file = property(lambda self: self.path / "state.json")

    def create(self) -> None:
        """Make the folder; mkdir is atomic, so of two `up`s of one VM only one gets here."""
        root = runtime_root()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self.path.mkdir(mode=0o700)
        except FileExistsError:
            raise StateError(f"{self.name}: a run folder exists already ({self.path})") from None
        os.chmod(self.path, 0o700)

    @contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the VM's lock (an `up` under way, a `nic add`); yields False if busy and not waiting."""
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def exists(self) -> bool:
        return self.path.is_dir()

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def write_state(self, state: dict[str, Any]) -> None:
        replace_file(self.state_file, json.dumps(state, indent=2), mode=0o600)


def all_run_dirs() -> list[RunDir]:
    root = runtime_root()
    if not root.is_dir():
        return []
    return [RunDir(p) for p in sorted(root.iterdir()) if p.is_dir()]
