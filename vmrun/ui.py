"""Terminal output: one-line errors and notices, a spinner for long waits, plain tables."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType


def notice(message: str) -> None:
    print(f"vmrun: {message}", file=sys.stderr)


def error(message: str, hint: str | None = None) -> None:
    print(f"vmrun: error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)


class Spinner:
    """``with Spinner("waiting for the guest"):`` shows a live spinner and elapsed time on a terminal.

    Off a terminal (logs, CI) it prints the start and the end once each instead.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        self.tty = sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start = 0.0

    def __enter__(self) -> Spinner:
        self.start = time.monotonic()
        if self.tty:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        else:
            print(f"vmrun: {self.message} ...", file=sys.stderr)
        return self

    def _spin(self) -> None:
        for frame in itertools.cycle("|/-\\"):
            elapsed = time.monotonic() - self.start
            sys.stderr.write(f"\r{frame} {self.message} ({elapsed:.1f} s) ")
            sys.stderr.flush()
            if self._stop.wait(0.1):
                break

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            sys.stderr.write("\r\033[K")
        elapsed = time.monotonic() - self.start
        outcome = "done" if kind is None else "interrupted" if kind is KeyboardInterrupt else "failed"
        print(f"vmrun: {self.message}: {outcome} after {elapsed:.1f} s", file=sys.stderr)


class Progress:
    """``with Progress("debian-12", total, done) as p: p.update(n)``: a live bar on a terminal (stderr).

    Off a terminal it prints the start and, on success, the end once each, like :class:`Spinner`.
    ``total`` None (the server did not say) shows the bytes and the rate without a bar.
    """

    WIDTH = 30

    def __init__(self, label: str, total: int | None, done: int = 0) -> None:
        self.label, self.total, self.done, self.first = label, total, done, done
        self.tty = sys.stderr.isatty()
        self.start = self._drawn = 0.0

    def __enter__(self) -> Progress:
        self.start = time.monotonic()
        if not self.tty:
            resumed = f", resuming at {size(self.done)}" if self.done else ""
            print(f"vmrun: downloading {self.label} ({size(self.total)}{resumed}) ...", file=sys.stderr)
        return self

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.tty and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = (self.done - self.first) / max(now - self.start, 1e-3)
        if self.total:
            filled = int(self.WIDTH * min(self.done / self.total, 1.0))
            bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {100 * self.done // self.total:3d}% "
            shown = f"{size(self.done)} of {size(self.total)}"
        else:
            bar, shown = "", size(self.done)
        sys.stderr.write(f"\r{self.label} {bar}{shown} {size(int(rate))}/s \033[K")
        sys.stderr.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.tty:
            if kind is None:
                self._draw(time.monotonic())  # where it ended, however fast it went
            sys.stderr.write("\r\033[K")
        if kind is None:
            elapsed = time.monotonic() - self.start
            print(f"vmrun: {self.label}: {size(self.done)} in {elapsed:.1f} s", file=sys.stderr)


def size(n: int | None) -> str:
    """Bytes for people: 512 B, 3.4 MiB, 1.2 GiB; "?" when unknown."""
    if n is None:
        return "? bytes"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [headers, *rows]]
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def checklist(checks: Sequence[object]) -> str:
    """Doctor's report: a mark, the check's name, what was found, and the fix under a failure."""
    marks = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}
    width = max((len(c.name) for c in checks), default=0)  # type: ignore[attr-defined]
    lines = []
    for c in checks:
        lines.append(f"{marks[c.status]}  {c.name.ljust(width)}  {c.detail}")  # type: ignore[attr-defined]
        if c.fix and c.status != "pass":  # type: ignore[attr-defined]
            lines.append(f"      {' ' * width}  fix: {c.fix}")  # type: ignore[attr-defined]
    return "\n".join(lines)
