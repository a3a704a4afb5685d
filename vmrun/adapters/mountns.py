"""A private mount namespace in which one folder is read-only: for a child process, before it runs.

QEMU 7.2's virtiofsd has no read-only mode. Called in the child between fork and exec, this makes
the folder a read-only bind mount over itself, in a mount namespace of the child's own: the daemon
(and whatever it forks) sees the folder read-only, the host's mounts are untouched, and the mount
goes when the last process in the namespace exits, so nothing is left to undo. Needs CAP_SYS_ADMIN.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def readonly_view(path: str) -> Callable[[], None]:
    """What a child runs before exec: a mount namespace of its own, with ``path`` bound read-only over itself.

    libc is loaded here, in the parent: the child only makes system calls.
    """
    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    target = os.fsencode(path)

    def in_child() -> None:
        _check(libc.unshare(CLONE_NEWNS), "unshare")
        # Private first: neither the bind mount nor its remount may propagate back to the host's namespace.
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        _check(libc.mount(target, target, None, MS_BIND | MS_REC, None), "mount --bind")
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
        _check(libc.mount(None, target, None, flags, None), "mount -o remount,bind,ro")

    return in_child
