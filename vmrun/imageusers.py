"""Which VMs a cached image is under, so that `vmrun image rm` refuses to pull it from beneath them.

The VMs that count: every profile on the profile search path (./profiles, the user's folder,
$VMRUN_PROFILE_PATH; running or not, since its next `up` needs the image), and every running VM
`vmrun ps` sees (its profile, wherever that lies, and for vmrun's own QEMU the ``-drive`` files it
was started with). A drive uses the image when its ``file`` or ``backing`` is the image, or when the
backing chain of its file (as qemu-img reads it) leads there. A profile elsewhere that is not running
cannot be seen: `image rm` says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from vmrun import ui
from vmrun.errors import DiskError, ProfileError, StateError, VmrunError
from vmrun.images import store
from vmrun.profile.model import Profile
from vmrun.profile.paths import search_path

CHAIN_DEPTH = 16


def profiles_on_path() -> Iterator[tuple[Path, Profile]]:
    """Every profile on the search path that loads, with its file (shadowed ones too: each is a VM's)."""
    from vmrun import trust
    from vmrun.profiles import validate

    for folder in search_path():
        try:
            files = sorted(p.absolute() for p in folder.glob("*.toml") if not p.name.startswith("."))
        except OSError:
            continue
        for path in files:
            try:
                yield path, validate(trust.read_profile(path), path)
            except (ProfileError, OSError, UnicodeDecodeError):
                continue


def _chain(path: str) -> Iterator[str]:
    """The backing files under ``path``, nearest first, as qemu-img reads them (stops where it cannot)."""
    from vmrun.adapters import qemuimg

    for _ in range(CHAIN_DEPTH):
        try:
            backing = qemuimg.info(path).backing_file
        except DiskError:
            return
        if not backing:
            return
        yield backing
        path = backing


def uses(image: str, files: list[str | None]) -> bool:
    """Whether one of ``files`` (a drive's file and backing) is ``image`` or lies on it."""
    target = os.path.realpath(image)
    for f in files:
        if f is None:
            continue
        if os.path.realpath(f) == target:
            return True
        if os.path.isfile(f) and any(os.path.realpath(b) == target for b in _chain(f)):
            return True
    return False


def _drive_files(argv: list[str]) -> list[str | None]:
    from vmrun.qemuopts import split

    files: list[str | None] = []
    for flag, value in zip(argv, argv[1:]):
        if flag == "-drive":
            files += [o.partition("=")[2] for o in split(value) if o.startswith("file=")]
    return files


def _profile_files(profile: Profile) -> list[str | None]:
    return [f for d in profile.drives for f in (d.file, d.backing)]


def users(image: Path) -> list[str]:
    """What uses ``image``: "profile FILE" and "running VM NAME" lines."""
    found = [
        f"profile {path} (drives[{i}])"
        for path, profile in profiles_on_path()
        for i, d in enumerate(profile.drives)
        if uses(str(image), [d.file, d.backing])
    ]
    from vmrun import engines

    try:
        running = engines.status_all()
    except VmrunError as e:
        ui.notice(f"cannot ask the running VMs whether they use {image.name}: {e.message}")
        running = []
    for status in running:
        state = status.state
        if state is None:
            continue
        files = _drive_files(state.argv)
        if state.profile and os.path.isfile(state.profile):
            try:
                from vmrun.profile.load import load_profile

                files += _profile_files(load_profile(state.profile))
            except VmrunError:
                pass
        if uses(str(image), files):
            found.append(f"running VM {status.name}")
    return found


def remove(name: str) -> list[Path]:
    """Delete the image ``name`` (and its record, and an unfinished download), unless a VM uses it."""
    store.check_name(name, option="NAME")
    image = store.path(name)
    if not any(p.exists() for p in (image, store.part_path(name), store.record_path(name))):
        raise StateError(f"no image {name!r} in {store.image_dir()}", hint="vmrun image list shows what is there")
    if image.exists() and (who := users(image)):
        raise StateError(
            f"{name} is in use: {'; '.join(who)}",
            hint="vmrun down a running VM, and take the drive (or the profile) away first; "
            "a disk made on it reads the image at every start",
        )
    return store.remove(name)
