"""`vmrun cp`: a file into or out of a running guest through its agent, ``VM:/path`` on one side."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path

from vmrun.errors import FileError, UsageError

_GUEST = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*):(/.*)$")
READ_CHUNK = 1024 * 1024


def guest_side(text: str) -> tuple[str, str] | None:
    """``VM:/abs/path`` as (VM, path); None for a host path (write ``./a:b`` for a host file with a colon)."""
    m = _GUEST.match(text)
    return (m.group(1), m.group(2)) if m else None


def copy(source: str, dest: str, connect: str | None = None) -> str:
    """Copy one file; says what was copied, in one line."""
    from vmrun.engines import find
    from vmrun.engines.guest import read_file, write_file

    src, dst = guest_side(source), guest_side(dest)
    if (src is None) == (dst is None):
        raise UsageError(
            "one side must be VM:/path in the guest, the other a host path",
            hint="vmrun cp notes.txt demo:/root/notes.txt   or   vmrun cp demo:/etc/hostname .",
        )
    if dst is not None:
        name, path = dst
        if path.endswith("/"):
            path += os.path.basename(source)
        written = write_file(find(name, connect), path, _chunks(Path(source)))
        return f"{source} -> {name}:{path} ({written} bytes)"
    assert src is not None
    name, path = src
    target = Path(dest)
    if target.is_dir():
        target = target / posixpath.basename(path)
    size = 0
    part = target.with_name(f".{target.name}.vmrun-part")
    try:
        with open(part, "wb") as f:
            for chunk in read_file(find(name, connect), path):
                f.write(chunk)
                size += len(chunk)
        os.replace(part, target)
    except OSError as e:
        raise FileError.from_os(e, e.filename or target) from None
    finally:
        part.unlink(missing_ok=True)
    return f"{name}:{path} -> {target} ({size} bytes)"


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        f = open(path, "rb")
    except OSError as e:
        raise FileError.from_os(e, path, doing="cannot read") from None
    with f:
        while chunk := f.read(READ_CHUNK):
            yield chunk
