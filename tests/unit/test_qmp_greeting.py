"""What QEMU may send a new QMP client ahead of its greeting is dropped before qemu.qmp reads the greeting."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from vmrun.adapters.qmp import Qmp, QmpTimeout

GREETING = b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}\r\n'
EVENT = b'{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "ACPI_DEVICE_OST", "data": {}}\r\n'


def pair() -> tuple[socket.socket, socket.socket]:
    ours, qemu = socket.socketpair()
    ours.setblocking(False)
    return ours, qemu


@pytest.mark.parametrize("ahead", [b"", EVENT, EVENT + EVENT])
def test_events_ahead_of_the_greeting_are_dropped_and_the_greeting_kept(tmp_path, ahead):
    ours, qemu = pair()
    qemu.sendall(ahead + GREETING)
    Qmp(tmp_path / "qmp.sock")._skip_to_greeting(ours, time.monotonic() + 5)
    assert ours.recv(65536) == GREETING


def test_a_message_that_arrives_in_pieces_is_waited_for(tmp_path):
    ours, qemu = pair()
    qemu.sendall(EVENT[:20])
    rest = threading.Timer(0.2, lambda: qemu.sendall(EVENT[20:] + GREETING))
    rest.start()
    Qmp(tmp_path / "qmp.sock")._skip_to_greeting(ours, time.monotonic() + 5)
    rest.join()
    assert ours.recv(65536) == GREETING


def test_a_qemu_that_never_greets_is_not_responding_by_the_deadline(tmp_path):
    ours, _qemu = pair()
    started = time.monotonic()
    with pytest.raises(QmpTimeout):
        Qmp(tmp_path / "qmp.sock", timeout=0.3)._skip_to_greeting(ours, time.monotonic() + 0.3)
    assert time.monotonic() - started < 2


def test_a_qemu_that_greets_and_exits_is_a_qmp_error_not_a_broken_pipe(tmp_path):
    """QEMU's monitor thread greets before QEMU builds the machine; a late error (a -device, a -kernel,
    a display port another VM took meanwhile) then ends QEMU: `up`'s next send met EPIPE ("cannot use:
    Broken pipe", once in 29 parallel `up`s)."""
    from vmrun.adapters.qmp import listen, wait_ready
    from vmrun.errors import QmpError

    server = listen(tmp_path / "qmp.sock")

    def qemu() -> None:
        conn, _ = server.accept()
        conn.sendall(GREETING)
        conn.close()  # and exits, before `up` sends qmp_capabilities

    t = threading.Thread(target=qemu)
    t.start()
    real_recv = socket.socket.recv

    def recv_then_let_it_exit(self, *a):
        data = real_recv(self, *a)
        t.join()  # the race, made certain: QEMU is gone before `up` answers the greeting
        return data

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(socket.socket, "recv", recv_then_let_it_exit)
            with pytest.raises(QmpError, match="QEMU closed its QMP connection while starting"):
                wait_ready(tmp_path / "qmp.sock", timeout=5, still_starting=lambda: True)
    finally:
        t.join()
        server.close()


def test_a_qemu_that_dies_with_the_connection_in_its_backlog_is_a_qmp_error(tmp_path):
    """`ps` or `down` connects, then QEMU exits before it accepts: a reset, said as a QMP error naming the socket."""
    from vmrun.adapters.qmp import listen
    from vmrun.errors import QmpError

    server = listen(tmp_path / "qmp.sock")
    ours = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.connect(str(tmp_path / "qmp.sock"))
    server.close()
    with pytest.raises(QmpError, match=f"cannot talk to QMP at {tmp_path}/qmp.sock: "):
        Qmp(tmp_path / "qmp.sock")._skip_to_greeting(ours, time.monotonic() + 5)
    ours.close()
