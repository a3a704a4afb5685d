"""qemu-img, the one tool vmrun makes and inspects images with: ``info``, ``backing_loop``, ``create``, ``convert``.

Every call is an argv (no shell); a failure becomes one :class:`DiskError` line carrying
qemu-img's own last line. ``info`` always runs with ``-U`` (force-share): reading an
image's header must not fail, nor wait, because a running QEMU holds its lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from vmrun.errors import DiskError

QEMU_IMG = "qemu-img"
TIMEOUT = 60.0


@dataclass(frozen=True)
class ImageInfo:
    format: str
    virtual_size: int
    backing_file: str | None = None
    backing_format: str | None = None


def _binary() -> str:
    found = shutil.which(QEMU_IMG)
    if found is None:
        raise DiskError("qemu-img not found: vmrun makes disks with it", hint="apt-get install qemu-utils")
    return found


def _run(argv: list[str], what: str, shown: tuple[str, str] = ("", "")) -> str:
    """Run qemu-img; ``shown`` (temporary name, real name) makes its error name the file the user knows."""
    try:
        # umask 077: a disk image holds whatever the guest writes, so only its owner reads it.
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, umask=0o077)
    except subprocess.TimeoutExpired:
        raise DiskError(f"{what}: qemu-img did not finish within {TIMEOUT:.0f} s") from None
    except OSError as e:
        raise DiskError(f"{what}: cannot run qemu-img: {e.strerror}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        last = last.removeprefix("qemu-img: ")
        raise DiskError(f"{what}: {last.replace(*shown) if shown[0] else last}")
    return done.stdout


def info(path: str) -> ImageInfo:
    """The image's format, virtual size and backing file (as qemu-img reads its header)."""
    out = _run([_binary(), "info", "-U", "--output=json", path], f"cannot read {path}")
    data: dict[str, Any] = json.loads(out)
    return ImageInfo(
        format=data.get("format", "raw"),
        virtual_size=int(data.get("virtual-size", 0)),
        backing_file=data.get("full-backing-filename") or data.get("backing-filename"),
        backing_format=data.get("backing-filename-format"),
    )


def backing_loop(path: str, fmt: str | None = None) -> str | None:
    """The backing file that makes ``path``'s backing chain loop back on itself, or None if it ends.

    qemu-img sees the loop at once (``info --backing-chain``), where opening the chain to
    create an overlay of it spins, and QEMU reports the second opening as a lock held by
    "another process". Any other failure to read the chain is left to whoever opens it next.
    """
    try:
        argv = [_binary(), "info", "-U", "--backing-chain", "--output=json"] + (["-f", fmt] if fmt else []) + [path]
        _run(argv, f"cannot read {path}")
    except DiskError as e:
        found = re.search(r"Backing file '(.*)' creates an infinite loop", e.message)
        if found:
            return found.group(1)
    return None


def create(
    path: str, fmt: str, size: int | None = None, *, backing: str | None = None, backing_format: str | None = None
) -> None:
    """Make the image at ``path``, which must not exist; nothing is left at ``path`` if qemu-img fails.

    qemu-img writes a temporary file next to it, which is then linked into place: a half-made
    image never shows under the real name, and an image that appeared meanwhile is not replaced.
    """
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.vmrun-{os.getpid()}")
    argv = [_binary(), "create", "-q", "-f", fmt]
    if backing is not None:
        # -F records the backing format in the overlay: QEMU then never probes the base image.
        argv += ["-b", backing, "-F", backing_format or info(backing).format]
    argv += [tmp] + ([str(size)] if size is not None else [])
    _made_then_placed(argv, "cannot create", tmp, path, replace=False)


def convert(source: str, source_format: str, path: str, fmt: str, *, replace: bool = False) -> None:
    """Copy ``source`` into a new image at ``path`` in ``fmt`` (a UEFI NVRAM template into the VM's own copy).

    As for :func:`create`, a half-made copy never shows under ``path``; an image already there is
    replaced only if ``replace`` (else it is left, and refused).
    """
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.vmrun-{os.getpid()}")
    argv = [_binary(), "convert", "-q", "-f", source_format, "-O", fmt, source, tmp]
    _made_then_placed(argv, f"cannot copy {source}", tmp, path, replace=replace)


def _made_then_placed(argv: list[str], doing: str, tmp: str, path: str, *, replace: bool) -> None:
    """Run qemu-img to make ``tmp``, then put it at ``path``: linked (refused if something appeared there
    meanwhile) or, with ``replace``, renamed over it. ``tmp`` never stays."""
    try:
        _run(argv, doing, (tmp, path))
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    except FileExistsError:
        raise DiskError(f"cannot create {path}: it appeared meanwhile; left as it is") from None
    except OSError as e:
        raise DiskError(f"cannot create {path}: {e.strerror}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
