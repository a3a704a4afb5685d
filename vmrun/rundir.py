"""Where a VM's run state lives, and who may touch it.

The runtime folder holds one folder per VM, ``RUNTIME/NAME`` (0700): QMP and
serial sockets, logs, QEMU's pid file, ``state.json`` and ``host-objects.json``.
Beside it, ``RUNTIME/.NAME.lock`` is the VM's lock: outside the VM's folder,
so that whoever removes the folder cannot take the lock away from a waiter.

RUNTIME is ``$VMRUN_RUNTIME_DIR`` if set (refused unless it is ours), else
``/run/vmrun`` for root (a login shell, ``su`` and a boot unit see the same
VMs), else ``$XDG_RUNTIME_DIR/vmrun`` (ignored, with a notice, unless ours),
else ``/tmp/vmrun-UID``. Like ssh and the XDG spec, vmrun uses a folder only
if it belongs to the invoking user and no one else can write to it, and it
reads only files that user owns: root never acts on records someone else wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmrun.errors import FileError, RunStateError, StateError
from vmrun.files import replace_file
from vmrun.names import NAME_PATTERN, check_vm_name

LOCK_WAIT = 120.0  # longer than any one command holds a lock: each of their waits has a deadline


def check_name(name: str) -> str:
    """A VM name is a name, never a path: ``down ../victim`` must not reach outside the runtime folder."""
    try:
        return check_vm_name(name)
    except ValueError as e:
        raise StateError(str(e), hint="vmrun ps lists the VMs vmrun knows") from None


def _unsafe(path: Path) -> str | None:
    """Why ``path`` is not a folder we may keep state in, or None if it is."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder" if not stat.S_ISLNK(st.st_mode) else "is a symbolic link"
    if st.st_uid != os.geteuid():
        return f"belongs to uid {st.st_uid}, not to you (uid {os.geteuid()})"
    if st.st_mode & 0o022:
        return f"can be written by others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


_found: dict[tuple[str | None, str | None, int], Path] = {}


def runtime_root() -> Path:
    """The runtime folder for this user, checked (see the module's docstring). Not created here."""
    key = (os.environ.get("VMRUN_RUNTIME_DIR"), os.environ.get("XDG_RUNTIME_DIR"), os.geteuid())
    if key not in _found:
        _found[key] = _find_root()  # once per command: the notice about XDG_RUNTIME_DIR is said once
    return _found[key]


def from_environment(variable: str) -> Path | None:
    """The folder ``$variable`` names, if set: refused unless it is ours (see :func:`_unsafe`)."""
    explicit = os.environ.get(variable)
    if not explicit:
        return None
    if problem := _unsafe(Path(explicit)):
        raise StateError(
            f"{variable}={explicit} {problem}",
            hint="point it at a folder of your own that only you can write (mode 0700)",
        )
    return Path(explicit)


def _find_root() -> Path:
    explicit = from_environment("VMRUN_RUNTIME_DIR")
    if explicit:
        root = explicit
    elif os.geteuid() == 0:
        root = Path("/run/vmrun")
    else:
        root = Path(tempfile.gettempdir()) / f"vmrun-{os.geteuid()}"
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        if xdg:
            if problem := _unsafe(Path(xdg)) or (not Path(xdg).is_dir() and "does not exist"):
                from vmrun import ui

                ui.notice(f"ignoring XDG_RUNTIME_DIR={xdg}: it {problem}; using {root}")
            else:
                root = Path(xdg) / "vmrun"
    if problem := _unsafe(root):
        raise StateError(
            f"the runtime folder {root} {problem}", hint="remove it, or set VMRUN_RUNTIME_DIR to a folder of your own"
        )
    return root


def _holder(fd: int) -> tuple[int | None, str | None]:
    """(pid, purpose) of whoever holds the lock on ``fd``'s file; purpose None: not a vmrun (or not known).

    A vmrun writes "PID PURPOSE" just after it gets the lock (PURPOSE may be several words: `fwd add`);
    until then the file still holds the words of the one before, and a `flock` in a script writes
    nothing. The kernel names the real holder (/proc/locks): the file is believed when it names that pid.
    """
    st = os.fstat(fd)
    pid = None
    for _ in range(20):
        pid = _lock_pid(st)
        written, _, purpose = os.pread(fd, 200, 0).decode(errors="replace").strip().partition(" ")
        if written.isdigit() and purpose.strip() and int(written) == (pid or int(written)):
            return int(written), " ".join(purpose.split())
        time.sleep(0.005)
    return pid, None


def _lock_pid(st: os.stat_result) -> int | None:
    """The pid holding a flock on the file ``st`` describes, from /proc/locks; None if none is found."""
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()  # 1: FLOCK  ADVISORY  WRITE 1234 fe:00:2147828 0 EOF
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted and fields[4].isdigit():
                    return int(fields[4])
    except OSError:
        pass
    return None


def _command(pid: int, limit: int = 80) -> str:
    """A process's command line on one line, cut to ``limit`` characters; empty if it is gone or hidden."""
    from vmrun import proc

    line = " ".join(" ".join(proc.cmdline(pid)).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def legacy_roots() -> list[Path]:
    """Where vmrun before schema 2 kept root's VMs when XDG_RUNTIME_DIR was set (a root login
    shell under logind): still looked in, so that an upgrade orphans no running VM. Only a
    folder that passes the same owner checks; new VMs always go to :func:`runtime_root`."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if os.geteuid() != 0 or os.environ.get("VMRUN_RUNTIME_DIR") or not xdg:
        return []
    old = Path(xdg) / "vmrun"
    if old == runtime_root() or not old.is_dir() or _unsafe(Path(xdg)) or _unsafe(old):
        return []
    return [old]


@dataclass(frozen=True)
class RunDir:
    root: Path
    name: str

    @classmethod
    def for_vm(cls, name: str) -> RunDir:
        root = runtime_root()
        if not (root / check_name(name)).is_dir():
            root = next((old for old in legacy_roots() if (old / name).is_dir()), root)
        return cls(root, name)

    @property
    def path(self) -> Path:
        return self.root / self.name

    qmp = property(lambda self: self.path / "qmp.sock")
    serial = property(lambda self: self.path / "serial.sock")
    serial_log = property(lambda self: self.path / "serial.log")
    agent = property(lambda self: self.path / "qga.sock")  # the guest agent's port (agent = true)
    agent_lock = property(lambda self: self.path / "qga.lock")  # the port takes one client at a time
    qemu_log = property(lambda self: self.path / "qemu.log")
    pidfile = property(lambda self: self.path / "qemu.pid")
    lock_path = property(lambda self: self.root / f".{self.name}.lock")

    def exists(self) -> bool:
        return self.path.is_dir()

    def problem(self) -> str | None:
        """Why this folder is not ours to act on (another owner, writable by others), or None."""
        return _unsafe(self.path)

    def check_owned(self) -> None:
        if problem := self.problem():
            raise StateError(
                f"{self.name}: its run folder {self.path} {problem}; vmrun leaves it alone",
                hint="vmrun acts only on run folders it made as you",
            )

    def create(self) -> None:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.path.mkdir(mode=0o700)
            os.chmod(self.path, 0o700)
        except FileExistsError:
            raise StateError(f"{self.name}: a run folder exists already ({self.path})") from None
        except OSError as e:
            raise FileError.from_os(e, doing="cannot create") from None

    def remove(self) -> None:
        """Remove the VM's folder: only ever ``RUNTIME/NAME``, whatever anyone put in the files."""
        assert self.path.parent == self.root and NAME_PATTERN.match(self.name)
        if self.problem() is None:
            shutil.rmtree(self.path, ignore_errors=True)

    def read_json(self, filename: str) -> Any:
        """A JSON file of ours in the folder, or None if there is none.

        Not followed through a symbolic link, and refused unless the invoking user owns it.
        """
        path = self.path / filename
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise RunStateError(
                path, "is a symbolic link; vmrun never writes one" if e.errno == 40 else f"cannot be read: {e.strerror}"
            ) from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise RunStateError(path, "is not a regular file")
            if st.st_uid != os.geteuid():
                raise RunStateError(
                    path, f"belongs to uid {st.st_uid}, not to you: vmrun acts only on records it wrote"
                )
            data = f.read(4 << 20)
        try:
            return json.loads(data)
        except ValueError as e:
            raise RunStateError(path, f"not valid JSON ({e})") from None

    def write_json(self, filename: str, data: Any) -> None:
        replace_file(self.path / filename, json.dumps(data, indent=2), mode=0o600)

    @contextmanager
    def locked(self, purpose: str, *, wait: float = LOCK_WAIT) -> Iterator[Lock]:
        """Hold the VM's lock for ``vmrun PURPOSE``; StateError if another vmrun keeps it past ``wait`` s."""
        lock = Lock(self)
        lock.acquire(purpose, wait)
        try:
            yield lock
        finally:
            lock.release()


class Lock:
    """flock on ``RUNTIME/.NAME.lock``; the holder writes its pid and purpose in it for the others' messages.

    The holder that removes the VM also removes the lock file; a waiter then
    finds its locked file is no longer the one at the path, and takes the new one.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.fd: int | None = None

    def acquire(self, purpose: str, wait: float) -> None:
        path = self.run.lock_path
        try:
            self.run.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise FileError.from_os(e, doing="cannot create") from None
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            except OSError as e:
                raise FileError.from_os(e, path, doing="cannot open the lock") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise StateError(self._busy(holder), hint="try again when it is done") from None
                if not told and wait > 1:
                    from vmrun import ui

                    ui.notice(f"waiting for {self._who(*holder)} to finish with {self.run.name}")
                    told = True
                time.sleep(0.05)
                continue
            st = os.fstat(fd)
            try:
                now = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            if now is None or (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
                os.close(fd)  # removed by the holder we waited for: take the new one
                continue
            if st.st_uid != os.geteuid():
                os.close(fd)
                raise StateError(f"{self.run.name}: its lock {path} belongs to uid {st.st_uid}, not to you")
            self.fd = fd
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()} {purpose}\n".encode(), 0)
            except OSError as e:
                self.drop_file()
                self.release()
                raise FileError.from_os(e, path) from None
            return

    def _busy(self, holder: tuple[int | None, str | None]) -> str:
        pid, purpose = holder
        if purpose == "up":
            return f"{self.run.name} is being started by another vmrun (pid {pid})"
        if purpose is not None:
            return f"{self.run.name} is busy: another vmrun (pid {pid}) is running `vmrun {purpose}` on it"
        return f"{self.run.name} is busy: {self._who(pid, None)} holds its lock {self.run.lock_path}"

    def _who(self, pid: int | None, purpose: str | None) -> str:
        """``another vmrun (pid 12, `vmrun fwd add`)``, or for anything else ``pid 34 (flock ... sleep 60)``."""
        if purpose is not None:
            return f"another vmrun (pid {pid}, `vmrun {purpose}`)"
        if pid is None:
            return "a process vmrun cannot see"
        command = _command(pid)
        return f"pid {pid} ({command})" if command else f"pid {pid}"

    def drop_file(self) -> None:
        """The VM is gone: remove the lock file too (we still hold it; see the class docstring)."""
        try:
            os.unlink(self.run.lock_path)
        except FileNotFoundError:
            pass

    def release(self) -> None:
        """Let go; if the VM has no run folder (taken down, or never made), its lock file goes too."""
        if self.fd is not None:
            if not self.run.exists():
                self.drop_file()
            os.close(self.fd)
            self.fd = None


def all_run_dirs() -> list[RunDir]:
    """The VM folders in the runtime folder (names that are not VM names are not ours: skipped)."""
    found = []
    for root in [runtime_root(), *legacy_roots()]:
        try:
            entries = sorted(os.listdir(root))
        except FileNotFoundError:
            continue
        except OSError as e:
            raise FileError.from_os(e, root, doing="cannot read") from None
        found += [RunDir(root, n) for n in entries if NAME_PATTERN.match(n) and (root / n).is_dir()]
    return found
