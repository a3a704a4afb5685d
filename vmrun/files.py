"""Files replaced whole: a reader (another vmrun, the bridge helper, an editor) sees the old or the new, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vmrun.errors import FileError


def replace_file(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    ``mode`` defaults to the existing file's mode, else 0600. An OSError (a full or
    read-only file system) becomes a FileError naming ``path``.
    """
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
    from vmrun import signals

    with signals.deferred():  # a signal lands before or after a write, never in it
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as e:
            raise FileError.from_os(e, path) from None
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            os.unlink(tmp)
            raise FileError.from_os(e, path) from None
