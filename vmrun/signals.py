"""SIGTERM, SIGHUP and Ctrl-C become one orderly unwind, for every command.

Installed once, at the entry point (as mkosi does in ``main()``): the first
signal raises KeyboardInterrupt, so every ``finally`` and ExitStack undo runs;
any further signal is noted and ignored, so that a second Ctrl-C (or a
service manager's TERM after HUP) cannot cut a rollback short. Every wait in
vmrun has a deadline, so an unwind always ends by itself.

:func:`deferred` holds a signal back across a step that must not be split
(QEMU started but not yet recorded): the step finishes, then the unwind starts.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"interrupted": False, "deferring": 0, "pending": False}


def _handler(signum: int, frame: object) -> None:
    if _state["interrupted"]:
        return  # already unwinding: let the rollback finish
    if _state["deferring"]:
        _state["pending"] = True
        return
    _state["interrupted"] = True
    raise KeyboardInterrupt


def install() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _handler)


def interrupted() -> bool:
    return _state["interrupted"]


@contextmanager
def deferred() -> Iterator[None]:
    """Hold signals back until the block is done, then unwind as if they came right after it."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
    if not _state["deferring"] and _state["pending"] and not _state["interrupted"]:
        _state["pending"] = False
        _state["interrupted"] = True
        raise KeyboardInterrupt
