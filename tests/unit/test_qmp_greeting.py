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
