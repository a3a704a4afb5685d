"""The image cache folder: ``N`` (a verified image, never written again), ``N.json`` (where it came from,
its digest) and ``N.part`` (an unfinished download, resumed by the next pull of ``N``).

The folder is ``$VMRUN_IMAGE_DIR`` if set, else ``$XDG_CACHE_HOME/vmrun/images`` (default
``~/.cache/vmrun/images``). A file appears under an image's name only once its download was verified
(vmrun/images/pull.py links it there); ``N.json`` is written just before, so an image always has its record.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vmrun.errors import FileError, StateError, UsageError

DIR_VAR = "VMRUN_IMAGE_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}\Z")
PART, RECORD = ".part", ".json"


def image_dir() -> Path:
    if explicit := os.environ.get(DIR_VAR):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vmrun" / "images"


def check_name(name: str, option: str = "--name") -> str:
    if not _NAME.match(name) or name.endswith((PART, RECORD)):
        raise UsageError(
            f"{name!r} is not an image name: letters, digits, '.', '_', '+', '-' (a letter or digit first), "
            f"at most 100, not ending in {PART} or {RECORD}",
            option=option,
        )
    return name


def path(name: str) -> Path:
    return image_dir() / name


def part_path(name: str) -> Path:
    return image_dir() / f"{name}{PART}"


def record_path(name: str) -> Path:
    return image_dir() / f"{name}{RECORD}"


@dataclass(frozen=True)
class Record:
    """What `image list` shows of a pulled image, kept in ``N.json``."""

    name: str
    url: str
    algorithm: str  # of ``digest``: sha256 or sha512
    digest: str
    verified_by: str  # "--sha256", "--sha512", "SUMS-URL", "catalogue (SUMS-URL)" or "nothing (--insecure)"
    size: int
    format: str  # as qemu-img reads it: qcow2, raw...
    virtual_size: int
    user: str | None = None  # the image's default user, when the catalogue knows it
    catalogue: str | None = None  # the catalogue name it was pulled as
    pulled: float = 0.0

    @property
    def file(self) -> Path:
        return path(self.name)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "file": str(self.file), "partial": False}


def make_dir() -> Path:
    folder = image_dir()
    try:
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as e:
        raise FileError.from_os(e, folder, doing="cannot create") from None
    return folder


def write_record(record: Record) -> None:
    """``N.json``, whole or not at all."""
    target = record_path(record.name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise FileError.from_os(e, target) from None


def find(name: str) -> Record | None:
    """The record of a pulled image ``name``, or None if there is no verified image by that name."""
    if not path(name).is_file():
        return None
    try:
        data = json.loads(record_path(name).read_text())
        return Record(**{k: data[k] for k in Record.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        # The image is there (it was verified) but its record is gone or damaged: what the file says.
        st = path(name).stat()
        return Record(name, "?", "?", "?", "unknown (its record is missing)", st.st_size, "?", 0, pulled=st.st_mtime)


def listing() -> list[dict[str, Any]]:
    """Every image in the cache (and every unfinished download), by name."""
    folder = image_dir()
    try:
        names = sorted(p.name for p in folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as e:
        raise FileError.from_os(e, folder, doing="cannot read") from None
    out = []
    for name in names:
        if name.endswith(PART):
            base = name[: -len(PART)]
            if base not in names:
                size = (folder / name).stat().st_size
                out.append({"name": base, "file": str(folder / name), "partial": True, "size": size})
        elif not name.endswith(RECORD) and not name.startswith(".") and (record := find(name)):
            out.append(record.as_json())
    return out


def lock_part(fd: int, name: str) -> None:
    """Hold ``N.part`` for this process: one download (or removal) of an image at a time."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            raise StateError(
                f"{name}: another vmrun is downloading it now ({part_path(name)})",
                hint="wait for it to finish, or stop it (Ctrl-C) and pull again to resume",
            ) from None
        raise


def remove(name: str) -> list[Path]:
    """Delete the image ``name``, its record and any unfinished download of it; what was removed."""
    removed = []
    part = part_path(name)
    if part.exists():
        fd = os.open(part, os.O_RDONLY)
        try:
            lock_part(fd, name)
            part.unlink()
            removed.append(part)
        finally:
            os.close(fd)
    for p in (path(name), record_path(name)):
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise FileError.from_os(e, p, doing="cannot remove") from None
    return removed


def now() -> float:
    return time.time()
