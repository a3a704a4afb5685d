"""The one exception tree of vmrun.

Raised deep, turned into one line plus a hint at the CLI boundary only::

    VmrunError                 exit 1 unless said otherwise
     +-- ProfileError          exit 2: bad input, names the file and the field
     |    +-- PreflightError   exit 2: the profile is fine, the host is not ready
     |    +-- ScriptError      exit 2: `vmrun import` cannot read a start.sh (names file:line)
 |    +-- TrustError       exit 2: a profile or a program it names is someone else's to change
     +-- StateError            exit 2: wrong state (already running, not running, busy, not yours)
 |    +-- NotSupported     exit 2: the engine that runs the VM cannot do that (one wording: engines.base)
 +-- UsageError            exit 2: the command line itself is wrong (an option, a missing argument)
     +-- RunStateError         exit 1: a run-state file vmrun cannot use (malformed, not its own)
     +-- FileError             exit 1: the OS refused a file operation (names the path; hint by errno)
     +-- HostNetError          exit 1: preparing or releasing a NIC's host side
     +-- LaunchError           exit 1: QEMU did not start (exit code, argv, output)
     +-- QmpError              exit 1: QMP refused (what was sent, what came back)
     +-- EngineError           exit 1: libvirt refused or failed (lookup, destroy, attach, migrate)
     +-- DiskError             exit 1: qemu-img could not make or read a disk image
     +-- ImageError            exit 1: a cloud image could not be downloaded, or it is not what its checksum says
     +-- AgentError            exit 1: the guest agent does not answer, or refused (names the command)
"""

from __future__ import annotations

from collections.abc import Sequence


class VmrunError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, object]:
        """What the error carries besides its line (QEMU's argv and output, QMP sent and received), for
        ``--debug`` and ``--json``; empty for most errors."""
        return {}


class ProfileError(VmrunError):
    """A profile (or an override) is wrong. ``source`` is the file, ``field`` a dotted path."""

    exit_code = 2

    def __init__(
        self, message: str, *, source: str | None = None, field: str | None = None, hint: str | None = None
    ) -> None:
        self.source = source
        self.field = field
        where = ": ".join(part for part in (source, field) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.reason = message


class PreflightError(ProfileError):
    """The profile is valid but the host cannot run it as it stands (port taken, disk missing)."""


class ScriptError(ProfileError):
    """A start.sh that `vmrun import` cannot read: not QEMU, another architecture, bad shell.

    Named like a compiler names a line, ``start.sh:12: message``.
    """

    def __init__(self, message: str, *, source: str, line: int | None = None, hint: str | None = None) -> None:
        self.line = line
        super().__init__(message, source=f"{source}:{line}" if line else source, hint=hint)


class TrustError(ProfileError):
    """A profile, or a program it has vmrun run, that a user other than you or root owns or can change."""


class StateError(VmrunError):
    exit_code = 2


class NotSupported(StateError):
    """What the VM's engine cannot do; made by :func:`vmrun.engines.base.not_supported`."""


class UsageError(VmrunError):
    """The command line is wrong (options that exclude each other, a value no option takes)."""

    exit_code = 2

    def __init__(self, message: str, *, option: str | None = None, hint: str | None = None) -> None:
        self.option = option
        super().__init__(f"{option}: {message}" if option else message, hint=hint)


class RunStateError(VmrunError):
    """``state.json`` or ``host-objects.json`` is not what vmrun writes: names the file (and field)."""

    def __init__(self, path: object, message: str, *, hint: str | None = None) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {message}", hint=hint)


_ERRNO_HINTS = {
    "ENOSPC": "the file system is full: free some space",
    "EDQUOT": "your disk quota is used up",
    "EROFS": "the file system is read-only: set VMRUN_RUNTIME_DIR to a writable folder",
    "EACCES": "permission denied: run vmrun as the user who owns it",
    "EPERM": "operation not permitted: run vmrun as the user who owns it",
}


class FileError(VmrunError):
    """An OSError on a file vmrun reads or writes, as one line: the path, the reason, a hint."""

    @classmethod
    def from_os(cls, e: OSError, path: object = None, *, doing: str = "cannot write") -> FileError:
        import errno

        where = path if path is not None else e.filename
        name = errno.errorcode.get(e.errno or 0, "")
        what = f"{doing} {where}" if where is not None else doing
        return cls(f"{what}: {e.strerror or e}", hint=_ERRNO_HINTS.get(name))


class HostNetError(VmrunError):
    pass


class LaunchError(VmrunError):
    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        exit_code: int | None = None,
        output_tail: str = "",
        hint: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.qemu_exit_code = exit_code
        self.output_tail = output_tail
        last = output_tail.strip().splitlines()[-1:] if output_tail else []
        full = f"{message}: {last[0]}" if last else message
        super().__init__(full, hint=hint)

    def details(self) -> dict[str, object]:
        shown = {"argv": self.argv, "qemu_exit_code": self.qemu_exit_code, "qemu_output": self.output_tail}
        return {k: v for k, v in shown.items() if v not in (None, "", [])}


class EngineError(VmrunError):
    """libvirt, running a VM for vmrun, refused or failed; the message carries libvirt's own reason."""


class QmpError(VmrunError):
    def __init__(self, message: str, *, sent: object = None, received: object = None, hint: str | None = None) -> None:
        self.sent = sent
        self.received = received
        super().__init__(message, hint=hint)

    def details(self) -> dict[str, object]:
        return {k: v for k, v in {"sent": self.sent, "received": self.received}.items() if v is not None}


class DiskError(VmrunError):
    """qemu-img could not make or read a disk image; the message carries qemu-img's own reason."""


class ImageError(VmrunError):
    """`vmrun image pull` could not download an image, or the download is not what its checksum says."""


class AgentError(VmrunError):
    """The QEMU guest agent did not answer in time, or refused a command; `vmrun exec` exits 125 on it."""
