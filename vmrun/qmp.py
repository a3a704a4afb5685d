"""Talking to a running QEMU over its QMP socket.

:func:`wait_greeting` is the launch-time readiness probe: a raw socket read of
QMP's greeting, so that `vmrun up` does not pay for importing asyncio. Every
other conversation goes through :class:`Qmp`, a thin wrapper over
``qemu.qmp``'s synchronous client whose errors carry what was sent and what
came back.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vmrun.errors import QmpError


def listen(path: Path) -> socket.socket:
    """The QMP socket, made by vmrun and handed to QEMU as an fd.

    Our connection then waits in the backlog until QEMU answers, with no
    polling; and the socket is ours from the start, 0600 in a 0700 folder.
    """
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    os.chmod(path, 0o600)
    s.listen(4)
    return s


def wait_greeting(path: Path, *, timeout: float, still_starting: Callable[[], bool]) -> dict[str, Any]:
    """Wait for QMP's greeting on ``path``; give up when ``still_starting()`` turns False."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(0.05)
                s.connect(str(path))
                buf = b""
                while not buf.endswith(b"\n"):
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        if not still_starting():
                            raise QmpError("QEMU exited before QMP answered") from None
                        if time.monotonic() >= deadline:
                            raise QmpError(f"QMP did not answer within {timeout:.0f} s", hint=f"socket {path}") from None
                        continue
                    if not chunk:
                        break
                    buf += chunk
                if buf.endswith(b"\n"):
                    return json.loads(buf)
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
            pass
        if not still_starting():
            raise QmpError("QEMU exited before QMP answered")
        if time.monotonic() >= deadline:
            raise QmpError(f"QMP did not answer within {timeout:.0f} s", hint=f"socket {path}")
        time.sleep(0.005)


class Qmp:
    """``with Qmp(path) as q: q.execute("query-status")``."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout
        self._conn: Any = None

    def __enter__(self) -> Qmp:
        from qemu.qmp.legacy import QEMUMonitorProtocol

        self._conn = QEMUMonitorProtocol(str(self.path))
        try:
            self._conn.connect(negotiate=True)
        except Exception as e:  # qemu.qmp raises several unrelated types for a dead socket
            self._conn = None
            raise QmpError(f"cannot talk to QMP at {self.path}: {e}") from None
        self._conn.settimeout(self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        sent = {"execute": command, **({"arguments": arguments} if arguments else {})}
        try:
            reply = self._conn.cmd_obj(sent)
        except Exception as e:
            raise QmpError(f"{command}: no answer ({e})", sent=sent) from None
        if "error" in reply:
            err = reply["error"]
            raise QmpError(f"{command}: {err.get('desc', err)}", sent=sent, received=reply)
        return reply.get("return")

    def send_fd(self, fd: int) -> None:
        """Send ``fd`` with SCM_RIGHTS on the QMP socket, ahead of a ``getfd``."""
        self._conn.send_fd_scm(fd)

    def events(self, wait: float) -> list[dict[str, Any]]:
        try:
            return self._conn.get_events(wait=wait)
        except Exception:
            return []
