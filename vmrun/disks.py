"""Disk images a profile asks vmrun to make: `size` (an empty image) or `backing` (a qcow2 overlay).

Run by `up` (both engines) after the preflight and before QEMU or libvirt starts. An
image that exists is never recreated, resized or rewritten: if its virtual size is
not the profile's `size`, one notice says so and the image is used as it is. The
backing image is only read (by qemu-img for its format and size, by QEMU read-only).

An image made here stays when the `up` then fails: it is a fresh empty disk or an
overlay holding no writes yet, which the next `up` uses as if it had made it then.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from vmrun.adapters import qemuimg
from vmrun.errors import PreflightError
from vmrun.profile.fields import render_disk_size
from vmrun.profile.model import Drive, Profile


@dataclass(frozen=True)
class Made:
    """One image `up` made, for its summary."""

    file: str
    format: str
    size: int | None
    backing: str | None

    def __str__(self) -> str:
        what = f"overlay of {self.backing}" if self.backing else "empty"
        size = f", {render_disk_size(self.size)}" if self.size is not None else ""
        return f"{self.file} ({self.format}{size}, {what})"


def to_make(profile: Profile) -> list[tuple[int, Drive]]:
    """The drives (with their index) whose image vmrun makes and that do not exist yet."""
    return [(i, d) for i, d in enumerate(profile.drives) if d.made_by_vmrun and not os.path.lexists(d.file)]


def check(profile: Profile) -> None:
    """Before anything is made: every backing image exists and is readable, no backing chain loops (exit 2)."""
    for i, d in enumerate(profile.drives):
        if d.backing is None:
            continue
        if not os.path.exists(d.backing):
            raise PreflightError(f"{d.backing} does not exist", source=profile.source, field=f"drives[{i}].backing")
        if not os.access(d.backing, os.R_OK):
            raise PreflightError(f"{d.backing} is not readable", source=profile.source, field=f"drives[{i}].backing")
        if os.path.realpath(d.backing) == os.path.realpath(d.file):
            raise PreflightError("is the drive's own file", source=profile.source, field=f"drives[{i}].backing")
    for i, d in enumerate(profile.drives):
        # The image `up` opens and its chain; for an overlay still to make, the chain it will sit on.
        field, image, fmt = f"drives[{i}].file", d.file, d.format
        if d.backing is not None and not os.path.lexists(d.file):
            field, image, fmt = f"drives[{i}].backing", d.backing, None
        if os.path.exists(image) and (looping := qemuimg.backing_loop(image, fmt)) is not None:
            raise PreflightError(
                f"the backing chain of {image} loops: its link {looping!r} leads back into the chain",
                source=profile.source,
                field=field,
                hint="end the chain on a real base image (qemu-img rebase -u -b BASE IMAGE)",
            )


def backing_outside(profile: Profile, i: int) -> str | None:
    """A line if drive ``i``'s `backing` lies outside both the profile's folder and the image's folder
    (and is not a cloud image in vmrun's cache, vmrun/images/)."""
    d = profile.drives[i]
    if d.backing is None:
        return None
    backing = os.path.realpath(d.backing)
    folders = sorted({os.path.dirname(os.path.realpath(p)) for p in (profile.source, d.file)})
    from vmrun.images.store import image_dir

    if os.path.dirname(backing) == os.path.realpath(image_dir()):  # a cloud image in vmrun's cache: its place
        return None
    if any(os.path.commonpath([backing, f]) == f for f in folders):
        return None
    return (
        f"drives[{i}].backing: {d.backing} lies outside the profile's folder and the image's folder "
        f"({' and '.join(folders)}); the guest reads it through {d.file}"
    )


def ensure(profile: Profile, notice: Callable[[str], None] = lambda _: None) -> list[Made]:
    """Make the missing images; say of an existing one whose size is not the profile's. Returns what was made."""
    check(profile)
    made = []
    missing = {i for i, _ in to_make(profile)}
    for i, d in enumerate(profile.drives):
        if i in missing:
            fmt = d.format or "qcow2"
            if line := backing_outside(profile, i):
                notice(line)
            qemuimg.create(d.file, fmt, d.size, backing=d.backing)
            made.append(Made(d.file, fmt, d.size, d.backing))
        elif d.size is not None and os.path.isfile(d.file):
            actual = qemuimg.info(d.file).virtual_size
            if actual != d.size:
                notice(
                    f"drives[{i}]: {d.file} is {render_disk_size(actual)}, not the profile's size "
                    f"{render_disk_size(d.size)}; left as it is (vmrun never resizes a disk)"
                )
    return made
