"""Talking to the QEMU guest agent over the unix socket QEMU listens on for its virtio-serial port.

The agent speaks QMP's JSON, one object a line, but has no greeting and may hold half an answer
from a client that went away: every conversation starts with ``guest-sync-delimited`` (the agent
answers with a 0xFF byte, then the id we sent), and everything before that answer is dropped.
A guest without an agent never answers at all: every read has a deadline, and the first one ends
in one line, "no guest agent answers in 3 s". QEMU's socket takes one client at a time; a
second would wait without a word, so vmrun's clients take a lock file of their own first.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import random
import socket
import time
from pathlib import Path
from typing import Any

from vmrun.errors import AgentError

ANSWER_TIMEOUT = 3.0  # how long a guest agent may take to answer the resync
DELIMITER = b"\xff"


def no_agent(vm: str, timeout: float) -> AgentError:
    """The one wording for a guest whose agent does not answer."""
    return AgentError(
        f"{vm}: no guest agent answers in {timeout:g} s",
        hint="is qemu-ga running in the guest? (Debian: apt install qemu-guest-agent; profile: agent = true)",
    )


def no_port(vm: str) -> AgentError:
    """The one wording for a VM made without an agent port (agent = false)."""
    return AgentError(f"{vm}: it has no guest agent port", hint="agent = true in its profile, then vmrun up again")


def request(command: str, arguments: dict[str, Any] | None = None) -> bytes:
    """One command as the agent reads it: a JSON object and a newline."""
    msg: dict[str, Any] = {"execute": command}
    if arguments:
        msg["arguments"] = arguments
    return json.dumps(msg).encode() + b"\n"


def sync_request(sync_id: int) -> bytes:
    """The resync: a 0xFF first makes an agent drop whatever half a command it holds."""
    return DELIMITER + request("guest-sync-delimited", {"id": sync_id})


def answer(vm: str, command: str, msg: dict[str, Any]) -> Any:
    """The ``return`` of one answer; an agent's ``error`` as an AgentError naming the command."""
    if "error" in msg:
        err = msg["error"]
        raise AgentError(f"{vm}: the guest agent refused {command}: {err.get('desc', err)}")
    return msg.get("return")


class Lines:
    """Reads the agent's answers, one JSON object a line, each read with the deadline it is given."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        if not chunk:
            raise ConnectionResetError("the guest agent's socket closed")
        self.buf += chunk
        return True

    def until_delimiter(self, deadline: float) -> bool:
        """Drop everything up to and including the agent's 0xFF; False if it did not come in time."""
        while DELIMITER not in self.buf:
            self.buf = b""
            if not self._fill(deadline):
                return False
        self.buf = self.buf.split(DELIMITER, 1)[1]
        return True

    def message(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON object (lines that are not one are skipped); None at the deadline."""
        while True:
            while b"\n" not in self.buf:
                if not self._fill(deadline):
                    return None
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.replace(DELIMITER, b"").strip()
            try:
                msg = json.loads(line) if line else None
            except ValueError:
                continue
            if isinstance(msg, dict):
                return msg


class Qga:
    """One conversation with a guest agent: ``with Qga(vm, socket, lock) as qga: qga.execute(...)``."""

    def __init__(self, vm: str, path: Path, lock: Path, *, timeout: float = ANSWER_TIMEOUT) -> None:
        self.vm, self.path, self.lock_path, self.timeout = vm, path, lock, timeout
        self.sock: socket.socket | None = None
        self.lock_fd: int | None = None

    def __enter__(self) -> Qga:
        try:
            self._lock()
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            try:
                self.sock.connect(str(self.path))
            except FileNotFoundError:
                raise no_port(self.vm) from None
            except OSError as e:
                raise AgentError(f"{self.vm}: cannot reach its guest agent's socket: {e.strerror or e}") from None
            self.lines = Lines(self.sock)
            self._sync()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def _lock(self) -> None:
        """The socket takes one client: wait for another vmrun's conversation to end, within the deadline."""
        self.lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AgentError(
                        f"{self.vm}: another vmrun is talking to its guest agent",
                        hint="the agent takes one client at a time: try again when it is done",
                    ) from None
                time.sleep(0.05)

    def _sync(self) -> None:
        assert self.sock is not None
        sync_id = random.randrange(1, 2**31)
        deadline = time.monotonic() + self.timeout
        try:
            self.sock.sendall(sync_request(sync_id))
            if not self.lines.until_delimiter(deadline):
                raise no_agent(self.vm, self.timeout)
            while (msg := self.lines.message(deadline)) is not None:
                if msg.get("return") == sync_id:
                    return
        except (TimeoutError, ConnectionError) as e:
            if isinstance(e, TimeoutError):
                raise no_agent(self.vm, self.timeout) from None
            raise AgentError(f"{self.vm}: its guest agent's socket closed: {e}") from None
        raise no_agent(self.vm, self.timeout)

    def execute(
        self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float | None = None, reply: bool = True
    ) -> Any:
        """Send one command and return what it returns; ``reply=False`` for the few that answer nothing
        when they work (guest-shutdown)."""
        assert self.sock is not None
        wait = self.timeout if timeout is None else timeout
        try:
            self.sock.sendall(request(command, arguments))
            if not reply:
                return None
            msg = self.lines.message(time.monotonic() + wait)
        except (TimeoutError, ConnectionError) as e:
            raise AgentError(f"{self.vm}: the guest agent did not answer {command}: {e}") from None
        if msg is None:
            raise AgentError(f"{self.vm}: the guest agent did not answer {command} in {wait:.0f} s")
        return answer(self.vm, command, msg)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text or "")
