"""A cut in a VM's QMP line: vmrun killed the moment QEMU has done one step, before vmrun hears of it.

:class:`QmpCut` moves QEMU's ``qmp.sock`` aside and listens in its place, passing every byte (and
every fd sent with SCM_RIGHTS) both ways. When the vmrun it watches (known by the peer pid of its
connection) has sent ``command`` and QEMU answers it, or when QEMU sends ``event``, it SIGKILLs that
vmrun and drops the answer: QEMU did the step, and vmrun never learnt so. Other clients (a test's
own `vmrun qmp`, a later `vmrun nic del`) pass through untouched.
"""

from __future__ import annotations

import array
import os
import re
import select
import signal
import socket
import struct
import threading
from pathlib import Path

FDS_MAX = 64


class QmpCut:
    def __init__(self, run_dir: Path, *, command: str | None = None, event: str | None = None) -> None:
        assert (command is None) != (event is None)
        self.command, self.event = command, event
        self.path = run_dir / "qmp.sock"
        self.real = run_dir / "qmp.real.sock"
        self.target: int | None = None  # the pid of the vmrun to cut
        self.cut = threading.Event()
        os.rename(self.path, self.real)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.listener.listen(8)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def __enter__(self) -> QmpCut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Put QEMU's own socket back in its place."""
        self.stopping = True
        self.listener.close()
        self.thread.join(5)
        self.path.unlink(missing_ok=True)
        if self.real.exists():
            os.rename(self.real, self.path)

    def _serve(self) -> None:
        while not self.stopping:
            try:
                ready, _, _ = select.select([self.listener], [], [], 0.1)
                if ready:
                    client, _ = self.listener.accept()
                else:
                    continue
            except (OSError, ValueError):
                return
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        pid = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        qemu = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        qemu.connect(str(self.real))
        armed = False  # the command is sent: its answer is the next "return" or "error"
        pending = b""  # what QEMU sent that is not yet a whole line
        try:
            while True:
                ready, _, _ = select.select([client, qemu], [], [])
                if client in ready:
                    data, fds = _recv(client)
                    if not data:
                        return
                    if (
                        pid == self.target
                        and self.command
                        and re.search(rb'"execute"\s*:\s*"%s"' % self.command.encode(), data)
                    ):
                        armed = True
                    qemu.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else [])
                    for fd in fds:
                        os.close(fd)
                if qemu in ready:
                    data = qemu.recv(65536)
                    if not data:
                        return
                    *lines, pending = (pending + data).split(b"\n")
                    for line in lines:
                        if pid == self.target and self._is_the_step(line, armed):
                            os.kill(pid, signal.SIGKILL)
                            self.cut.set()
                            return
                        client.sendall(line + b"\n")
        except OSError:
            return
        finally:
            client.close()
            qemu.close()

    def _is_the_step(self, line: bytes, armed: bool) -> bool:
        if self.event:
            return re.search(rb'"event"\s*:\s*"%s"' % self.event.encode(), line) is not None
        return armed and re.search(rb'"(return|error)"\s*:', line) is not None and b'"event"' not in line


def _recv(sock: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    data, ancdata, _, _ = sock.recvmsg(65536, socket.CMSG_LEN(FDS_MAX * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)
