"""Talking to a running QEMU over its QMP socket.

:func:`wait_ready` is the launch-time readiness probe, on a raw socket, so
that `vmrun up` does not pay for importing asyncio. Every
other conversation goes through :class:`Qmp`, a thin wrapper over
``qemu.qmp``'s client in which every step has a deadline and whose errors
carry what was sent and what came back.
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


def wait_ready(path: Path, *, timeout: float, still_starting: Callable[[], bool]) -> str:
    """Wait for QMP's greeting on ``path``, negotiate, and return QEMU's run state (``running``...).

    Gives up when ``still_starting()`` turns False (QEMU exited). Asking for the run
    state, not only reading the greeting, catches a QEMU that greets and then dies.
    A raw socket: `vmrun up` does not pay for importing asyncio.
    """
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.05)
        while True:
            try:
                s.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                _check(deadline, timeout, still_starting, path)
                time.sleep(0.005)
        lines = _Lines(s, deadline, timeout, still_starting, path)
        lines.message()  # the greeting
        lines.ask("qmp_capabilities")
        return lines.ask("query-status").get("status", "unknown")


def _check(deadline: float, timeout: float, still_starting: Callable[[], bool], path: Path) -> None:
    if not still_starting():
        raise QmpError("QEMU exited before QMP answered")
    if time.monotonic() >= deadline:
        raise QmpError(f"QMP did not answer within {timeout:.0f} s", hint=f"socket {path}")


class _Lines:
    """QMP messages, one JSON object a line, read with a deadline from a raw socket."""

    def __init__(
        self, s: socket.socket, deadline: float, timeout: float, still: Callable[[], bool], path: Path
    ) -> None:
        self.s, self.deadline, self.timeout, self.still, self.path = s, deadline, timeout, still, path
        self.buf = b""

    def message(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(4096)
            except TimeoutError:
                _check(self.deadline, self.timeout, self.still, self.path)
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise QmpError("QEMU closed its QMP connection while starting")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def ask(self, command: str) -> Any:
        try:
            self.s.sendall(json.dumps({"execute": command}).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            # QEMU's monitor thread greets before QEMU builds the machine; a late error (a -device,
            # the -kernel, a display's port) ends QEMU after that: EPIPE here, not a reset on read.
            raise QmpError("QEMU closed its QMP connection while starting") from None
        while True:
            reply = self.message()
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc')}", sent=command, received=reply)
            if "return" in reply:
                return reply["return"]


class QmpTimeout(QmpError):
    """QEMU accepted the connection (the kernel does that for it) but did not answer in time: frozen or stopped."""


def _not_responding(what: str, timeout: float) -> QmpTimeout:
    return QmpTimeout(
        f"QEMU is not responding ({what}: no answer within {timeout:.0f} s)",
        hint="it may be stopped (SIGSTOP), stuck, or busy with another vmrun; vmrun down --force kills it",
    )


class Qmp:
    """``with Qmp(path) as q: q.execute("query-status")``: every step has a deadline.

    A stopped or wedged QEMU still has its socket accepted by the kernel, and
    then never speaks: without deadlines every command would wait forever. The
    connect and negotiation get ``timeout`` seconds together; each command gets
    ``timeout`` seconds of its own. A timeout raises :class:`QmpTimeout`.

    Each instance runs its own event loop, so several can talk to several QEMUs
    from several threads at once (`vmrun ps`).
    """

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout
        self._client: Any = None
        self._loop: Any = None

    def _run(self, coro: Any, what: str, timeout: float | None = None) -> Any:
        """One exchange, bounded by its deadline; a signal waits until it is over (see vmrun.signals),
        so that an unwind finds the connection whole and can still undo what was done over it."""
        import asyncio

        from vmrun import signals

        with signals.deferred():
            try:
                return self._loop.run_until_complete(asyncio.wait_for(coro, timeout or self.timeout))
            except TimeoutError:
                raise _not_responding(what, timeout or self.timeout) from None

    def __enter__(self) -> Qmp:
        import asyncio

        from qemu.qmp import QMPClient

        from vmrun import signals

        deadline = time.monotonic() + self.timeout
        sock = self._connect(deadline)
        try:
            self._skip_to_greeting(sock, deadline)
            # A signal in the middle of making the loop would leave half an object for the garbage
            # collector to complain about on stderr: it waits until loop and client are whole.
            with signals.deferred():
                self._loop = asyncio.new_event_loop()
                # qemu.qmp's tasks that die with a connection we drop are not news: keep them off stderr.
                self._loop.set_exception_handler(lambda loop, context: None)
                self._client = QMPClient(str(self.path.parent.name))
        except BaseException:
            sock.close()
            self.__exit__()
            raise
        try:
            self._run(self._client.connect(sock), "connect")
        except QmpError:
            self.__exit__()
            raise
        except Exception as e:  # qemu.qmp raises several unrelated types for a dead socket
            self.__exit__()
            raise QmpError(f"cannot talk to QMP at {self.path}: {e}") from None
        return self

    def _connect(self, deadline: float) -> socket.socket:
        """Connect without blocking. QEMU listens with a backlog of one and serves one client
        at a time: a full backlog (EAGAIN) is a QEMU that is busy or stopped, so retry until the deadline."""
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(str(self.path))
                return sock
            except BlockingIOError:
                sock.close()
                if time.monotonic() >= deadline:
                    raise _not_responding("connect", self.timeout) from None
                time.sleep(0.05)
            except OSError as e:
                sock.close()
                raise QmpError(f"cannot talk to QMP at {self.path}: {e.strerror or e}") from None

    def _skip_to_greeting(self, sock: socket.socket, deadline: float) -> None:
        """Drop what QEMU sends a new client before its greeting, so that qemu.qmp reads the greeting first.

        QEMU resets a monitor to "greet, then negotiate" only once it sees the new connection: an
        event raised in between (a guest acknowledging the NIC the last client plugged in) still goes
        out as if to the last client, ahead of the greeting, and qemu.qmp refuses it as a greeting.
        """
        import select

        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                raise _not_responding("connect", self.timeout)
            try:
                seen = sock.recv(65536, socket.MSG_PEEK)
            except OSError as e:  # reset: QEMU exited with our connection still in its backlog
                raise QmpError(f"cannot talk to QMP at {self.path}: {e.strerror or e}") from None
            end = seen.find(b"\n")
            if not seen or b'"QMP"' in seen[: end if end >= 0 else len(seen)]:
                return  # the greeting (or a closed socket, for qemu.qmp to report)
            if end < 0:
                time.sleep(0.01)  # a message not yet whole: its end is on its way
                continue
            sock.recv(end + 1)

    def __exit__(self, *exc: object) -> None:
        import asyncio

        if self._client is not None:
            try:
                self._loop.run_until_complete(asyncio.wait_for(self._client.disconnect(), 1.0))
            except BaseException:  # closing must not hide what went wrong before, nor hang
                pass
            self._client = None
        if self._loop is not None:
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            try:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            except BaseException:
                pass
            self._loop.close()
            self._loop = None

    def execute(self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        from qemu.qmp import ExecuteError

        sent = {"execute": command, **({"arguments": arguments} if arguments else {})}
        try:
            return self._run(self._client.execute(command, arguments), command, timeout)
        except ExecuteError as e:
            raise QmpError(f"{command}: {e}", sent=sent, received=dict(e.received)) from None
        except QmpError:
            raise
        except Exception as e:
            raise QmpError(f"{command}: no answer ({e})", sent=sent) from None

    def send_fd(self, fd: int) -> None:
        """Send ``fd`` with SCM_RIGHTS on the QMP socket, ahead of a ``getfd``."""
        self._client.send_fd_scm(fd)

    def events(self, wait: float) -> list[dict[str, Any]]:
        """Events that came, waiting up to ``wait`` seconds for the first."""
        import asyncio

        from vmrun import signals

        listener = self._client.events
        first = []
        if listener.empty():
            with signals.deferred():
                try:
                    first = [self._loop.run_until_complete(asyncio.wait_for(listener.get(), wait))]
                except Exception:
                    return []
        return [dict(e) for e in first + listener.clear()]
