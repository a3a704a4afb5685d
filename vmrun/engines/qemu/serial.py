"""The serial console: attach to its socket interactively, or print its log."""

from __future__ import annotations

import os
import select
import socket
import sys
import termios
import time
import tty
from collections.abc import Callable
from pathlib import Path

from vmrun.errors import StateError

DETACH = b"\x1d"  # Ctrl-]


def attach(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as e:
        raise StateError(f"cannot attach to the serial console {path}: {e.strerror or e}") from None
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    print("vmrun: attached to the serial console; Ctrl-] detaches", file=sys.stderr)
    try:
        if saved:
            tty.setraw(stdin)
        _pump(sock, stdin)
    finally:
        if saved:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        sock.close()
        print("\nvmrun: detached", file=sys.stderr)


def _pump(sock: socket.socket, stdin: int) -> None:
    out = sys.stdout.buffer
    while True:
        ready, _, _ = select.select([sock, stdin], [], [])
        if sock in ready:
            data = sock.recv(4096)
            if not data:
                return
            out.write(data)
            out.flush()
        if stdin in ready:
            data = os.read(stdin, 1024)
            if not data or DETACH in data:
                return
            sock.sendall(data)


def print_log(path: Path, *, follow: bool, still_running: Callable[[], bool]) -> None:
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise StateError(f"no log yet at {path}") from None
    out = sys.stdout.buffer
    with f:
        while True:
            chunk = f.read(65536)
            if chunk:
                out.write(chunk)
                out.flush()
                continue
            if not follow or not still_running():
                return
            time.sleep(0.2)
