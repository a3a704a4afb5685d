"""`up --wait`: has the guest itself answered on a forwarded port?

An open host port proves nothing: slirp accepts the connection before it has
reached the guest, and closes it when the guest refuses. So a port counts as
answering when the guest sends bytes (an SSH banner) or answers a probe (an
HTTP request). Before the guest has an address, slirp neither closes nor
answers, which stays "not yet".
"""

from __future__ import annotations

import socket
from collections.abc import Callable
import time

PROBE = b"HEAD / HTTP/1.0\r\n\r\n"


def answers(host: str, port: int, *, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            try:
                if s.recv(1):
                    return True  # the guest spoke first (SSH, SMTP...)
                return False  # closed: slirp could not reach a listener
            except socket.timeout:
                pass
            s.sendall(PROBE)
            return bool(s.recv(1))
    except OSError:
        return False


def wait_until_answers(host: str, port: int, *, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        if answers(host, port):
            return True
        time.sleep(0.5)
    return False
