"""Option lines someone commented out in a start.sh, grouped, as the user may want them back."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmrun.importer.shell import Comment

_OPTION_LINE = re.compile(r"^(?:-{1,2}[A-Za-z]|\S*qemu-system-)")
_TRAILING_NOTE = re.compile(r"\s*\\?\s+#+\s*(.*)$")


@dataclass(frozen=True)
class Alternative:
    """Commented-out option lines next to each other, as the user may want them back."""

    first: int
    last: int
    text: str
    note: str | None

    @property
    def lines(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def alternatives(comments: list[Comment]) -> list[Alternative]:
    """Option lines someone commented out, grouped when they sit on adjacent lines."""
    out: list[Alternative] = []
    prose: Comment | None = None
    group: list[tuple[int, str, str | None]] = []

    def close() -> None:
        if group:
            notes = [n for _, _, n in group if n]
            if prose and prose.line == group[0][0] - 1:
                notes.insert(0, " ".join(prose.text.split()))
            text = " ".join(t for _, t, _ in group)
            out.append(Alternative(group[0][0], group[-1][0], text, "; ".join(notes) or None))
            group.clear()

    for c in comments:
        if not c.alone or c.text.startswith("!"):
            continue
        body = c.text.strip()
        if not _OPTION_LINE.match(body):
            close()
            prose = c
            continue
        note = None
        m = _TRAILING_NOTE.search(body)
        if m and "#" in body:
            note = m.group(1).strip() or None
            body = body[: m.start()]
        body = body.rstrip().removesuffix("\\").rstrip()
        if group and group[-1][0] != c.line - 1:
            close()
        group.append((c.line, body, note))
    close()
    return out
