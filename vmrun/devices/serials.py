"""``[[serials]]`` and ``gdb``: more serial ports and QEMU's gdb stub, as argv parts (pure).

ttyS0 is vmrun's own console (``-serial`` on the run folder's socket, argv.py); each ``[[serials]]``
table is the next ISA port, ttyS1 to ttyS3, as ``-device isa-serial,index=N`` so that the order of
the options cannot move the console. TCP and telnet ports, and the gdb stub, listen on 127.0.0.1
unless the profile names another address: whoever reaches them has the guest's port (or its
memory). A Unix socket without a path is made in the VM's run folder, gone with it at `down`.
Every socket is a server that does not wait for a client (QEMU starts the guest at once).
"""

from __future__ import annotations

from pathlib import Path

from vmrun.profile.model import Profile, Serial, SerialType
from vmrun.qemuopts import OptValue, opts


def tty(i: int) -> int:
    """The ttyS number of ``[[serials]]`` table ``i``."""
    return i + 1


def socket_path(run_dir: str | Path, i: int) -> str:
    return str(Path(run_dir) / f"serial{tty(i)}.sock")


def chardev(s: Serial, i: int, run_dir: str | None) -> str:
    cid = ("id", f"vmrun-serial{tty(i)}")
    listen: list[tuple[str, OptValue]] = [("server", True), ("wait", False)]
    if s.type in (SerialType.TCP, SerialType.TELNET):
        telnet = True if s.type is SerialType.TELNET else None
        return opts("socket", [cid, ("host", s.addr), ("port", s.port), *listen, ("telnet", telnet)])
    if s.type is SerialType.UNIX:
        path = s.path
        if path is None:
            if run_dir is None:
                raise ValueError("a [[serials]] unix socket without a path needs the run folder")
            path = socket_path(run_dir, i)
        return opts("socket", [cid, ("path", path), *listen])
    if s.type is SerialType.FILE:
        return opts("file", [cid, ("path", s.path)])
    return opts("pty", [cid])


def serial_args(p: Profile, run_dir: str | None) -> list[str]:
    """``run_dir``: the VM's run folder, where a unix socket without a path goes (for `show`: where it would be)."""
    argv: list[str] = []
    for i, s in enumerate(p.serials):
        argv += ["-chardev", chardev(s, i, run_dir)]
        argv += ["-device", opts("isa-serial", [("chardev", f"vmrun-serial{tty(i)}"), ("index", tty(i))])]
    return argv


def gdb_args(p: Profile) -> list[str]:
    return ["-gdb", f"tcp:{p.gdb}"] if p.gdb else []


def describe(s: Serial, i: int, run_dir: str) -> str:
    """One serial port as `up` names it: ``tcp 127.0.0.1:4555``, ``unix PATH``, ``file PATH``, ``pty``."""
    if s.type in (SerialType.TCP, SerialType.TELNET):
        return f"{s.type} {s.addr}:{s.port}"
    if s.type is SerialType.UNIX:
        return f"unix {s.path or socket_path(run_dir, i)}"
    return f"file {s.path}" if s.type is SerialType.FILE else "pty (QMP query-chardev names it)"
