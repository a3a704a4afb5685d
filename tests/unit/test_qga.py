"""The QGA client's framing against a fake agent on a unix socket: resync, answers, errors, deadlines."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from vmrun.adapters.qga import Qga, request, sync_request
from vmrun.errors import AgentError


def test_requests_are_one_json_line_and_the_resync_starts_with_0xff():
    assert request("guest-ping") == b'{"execute": "guest-ping"}\n'
    line = sync_request(7)
    assert line[:1] == b"\xff" and json.loads(line[1:]) == {"execute": "guest-sync-delimited", "arguments": {"id": 7}}


def serve(path, answer):
    """A fake agent: answers each line with answer(message) (bytes), until the client goes."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def loop():
        conn, _ = server.accept()
        buf = b""
        with conn:
            while chunk := conn.recv(65536):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    msg = json.loads(line.lstrip(b"\xff"))
                    conn.sendall(answer(msg))
        server.close()

    threading.Thread(target=loop, daemon=True).start()


def agent(msg):
    if msg["execute"] == "guest-sync-delimited":
        # What a client before us left half-answered comes first: all of it is dropped.
        return b'{"return": {"stale": 1}}\n\xff' + json.dumps({"return": msg["arguments"]["id"]}).encode() + b"\n"
    if msg["execute"] == "guest-info":
        return b'{"return": {"version": "7.2.0"}}\n'
    return json.dumps({"error": {"class": "GenericError", "desc": "Command not found"}}).encode() + b"\n"


def test_resync_then_answers_and_errors_name_the_command(tmp_path):
    serve(tmp_path / "qga.sock", agent)
    with Qga("vm", tmp_path / "qga.sock", tmp_path / "qga.lock") as qga:
        assert qga.execute("guest-info") == {"version": "7.2.0"}
        with pytest.raises(AgentError, match="vm: the guest agent refused guest-nothing: Command not found"):
            qga.execute("guest-nothing")


def test_a_guest_without_an_agent_is_one_line_within_the_deadline(tmp_path):
    serve(tmp_path / "qga.sock", lambda msg: b"")  # QEMU's socket takes the bytes; nobody answers
    started = time.monotonic()
    with pytest.raises(AgentError, match=r"^vm: no guest agent answers in 0.3 s$"):
        with Qga("vm", tmp_path / "qga.sock", tmp_path / "qga.lock", timeout=0.3):
            pass
    assert time.monotonic() - started < 2


def test_no_socket_means_no_agent_port(tmp_path):
    with pytest.raises(AgentError, match="vm: it has no guest agent port"):
        with Qga("vm", tmp_path / "absent.sock", tmp_path / "qga.lock"):
            pass


def test_a_second_client_waits_for_the_lock_then_says_who_holds_the_socket(tmp_path):
    serve(tmp_path / "qga.sock", agent)
    with Qga("vm", tmp_path / "qga.sock", tmp_path / "qga.lock"):
        with pytest.raises(AgentError, match="another vmrun is talking to its guest agent"):
            with Qga("vm", tmp_path / "other.sock", tmp_path / "qga.lock", timeout=0.2):
                pass
