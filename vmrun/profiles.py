"""Profiles as files: `vmrun new`, `profiles`, `edit` and `clone`.

Each writes a whole file or nothing, never over an existing profile, and a
profile it writes must load (checked before it replaces anything).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmrun.errors import FileError, ProfileError, VmrunError
from vmrun.profile.load import find_profile, parse_profile
from vmrun.profile.model import Profile
from vmrun.profile.paths import home_folder, search_path

PROFILE_MODE = 0o600  # a profile may come to hold a SPICE password


def _check_new_name(name: str) -> None:
    from vmrun.names import check_vm_name

    try:
        check_vm_name(name)
    except ValueError as e:
        raise ProfileError(str(e)) from None
    try:
        found = find_profile(name)
    except ProfileError:
        return
    raise ProfileError(
        f"a profile named {name!r} already exists: {found}",
        hint=f"vmrun edit {name} changes it; or choose another name",
    )


def _write_new(path: Path, text: str, mode: int = PROFILE_MODE) -> None:
    """Create ``path`` with ``text``; refused (never replaced) if it exists, even if it appeared meanwhile."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise ProfileError(f"{path} already exists; not overwritten") from None
    except OSError as e:
        raise FileError.from_os(e, path) from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except OSError as e:
        path.unlink(missing_ok=True)
        raise FileError.from_os(e, path) from None


def validate(text: str, path: Path, *, shown_as: Path | None = None) -> Profile:
    """``text`` loaded as the profile at ``path`` (relative paths read from its folder), or ProfileError.

    ``shown_as`` is the file the user edits, named in the error instead of ``path``.
    """
    where = str(shown_as or path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"not valid TOML: {e}", source=where) from None
    try:
        return parse_profile(raw, str(path), default_name=path.stem)
    except ProfileError as e:
        raise ProfileError(e.reason, source=where, field=e.field, hint=e.hint) from None


# -- new -----------------------------------------------------------------------------------------


def new(name: str, folder: Path | None = None, *, preset: str | None = None) -> Path:
    """Write the commented template for ``name`` (or a preset's profile: profile/presets.py) where `up` finds it;
    the path written."""
    from vmrun.profile import presets, template

    _check_new_name(name)
    path = (folder or home_folder()) / f"{name}.toml"
    text = template.render(name) if preset is None else presets.render(preset, name)
    validate(text, path)
    _write_new(path, text)
    return path


# -- profiles ------------------------------------------------------------------------------------


@dataclass
class Found:
    name: str  # what `vmrun up NAME` takes: the file's name
    file: str
    vm: str | None = None  # the VM's name (the profile's `name`, else the file's)
    engine: str | None = None
    state: str = "-"  # running, dead (its QEMU is gone: vmrun gc), "-" (not running)
    pid: int | None = None
    error: str | None = None  # why it does not load
    shadowed_by: str | None = None  # an earlier folder on the path has a profile of this name

    def as_json(self) -> dict[str, Any]:
        return vars(self).copy()


def listing() -> list[Found]:
    """Every profile on the path, in the order `up` looks; running state from the run folder (no QMP)."""
    found: list[Found] = []
    first: dict[str, str] = {}
    for folder in search_path():
        try:
            files = sorted(p.absolute() for p in folder.glob("*.toml") if not p.name.startswith(".") and p.is_file())
        except OSError:
            continue
        for path in files:
            item = Found(path.stem, str(path), shadowed_by=first.get(path.stem))
            first.setdefault(path.stem, str(path))
            _fill(item, path)
            found.append(item)
    return found


def _fill(item: Found, path: Path) -> None:
    from vmrun import trust

    try:
        profile = validate(trust.read_profile(path), path)
    except (ProfileError, OSError, UnicodeDecodeError) as e:
        item.error = e.message if isinstance(e, VmrunError) else str(e)
        return
    from vmrun import engines

    item.vm, item.engine = profile.name, profile.engine.value
    item.state, item.pid = engines.profile_state(profile)


# -- edit ----------------------------------------------------------------------------------------


def editor_argv() -> list[str]:
    """$VISUAL, else $EDITOR (split as a shell would, never run by one), else `editor`, else `vi`."""
    for var in ("VISUAL", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            argv = shlex.split(value)
            if argv:
                return argv
    for fallback in ("editor", "vi"):
        if shutil.which(fallback):
            return [fallback]
    raise ProfileError("no editor found", hint="set EDITOR, e.g. EDITOR=nano")


@dataclass(frozen=True)
class Edited:
    path: Path
    changed: bool


def edit(name: str, *, ask: Callable[[str], bool] | None) -> Edited:
    """Edit a temporary copy, check it, then replace the profile; the profile is never left half-edited.

    ``ask`` (None when no one can answer) decides whether to edit again after an error; without
    it, or on "no", the profile stays as it was and the error names the edited copy.
    """
    import tempfile

    path = find_profile(name)
    editor = editor_argv()  # before the copy exists: no editor, no copy left behind
    try:
        original = path.read_text()
    except OSError as e:
        raise FileError.from_os(e, path, doing="cannot read") from None
    fd, tmp_name = tempfile.mkstemp(prefix=f"vmrun-edit-{path.stem}-", suffix=".toml")  # 0600
    copy = Path(tmp_name)
    with os.fdopen(fd, "w") as f:
        f.write(original)
    while True:
        _run_editor([*editor, str(copy)], copy, original)
        text = copy.read_text()
        if text == original:
            copy.unlink()
            return Edited(path, False)
        try:
            validate(text, path, shown_as=copy)
            break
        except ProfileError as e:
            if ask is None or not ask(f"vmrun: error: {e.message}\nedit again? [Y/n] "):
                raise ProfileError(
                    f"not saved: {e.message}", hint=f"{path} is unchanged; your edit is in {copy}"
                ) from None
    if path.read_text() != original:
        raise ProfileError(f"not saved: {path} changed while you edited it", hint=f"your edit is in {copy}")
    from vmrun.files import replace_file

    replace_file(path, text)
    copy.unlink()
    return Edited(path, True)


def _run_editor(argv: list[str], copy: Path, original: str) -> None:
    """Run the editor on ``copy``; one that fails (vim's :cq) means "abort": the copy goes unless it was changed."""
    try:
        done = subprocess.run(argv)
    except OSError as e:
        copy.unlink()
        raise ProfileError(f"cannot run the editor {argv[0]}: {e.strerror}", hint="set VISUAL or EDITOR") from None
    if done.returncode != 0:
        kept = copy.read_text() != original
        if not kept:
            copy.unlink()
        raise ProfileError(
            f"the editor {argv[0]} exited with status {done.returncode}; nothing saved",
            hint=f"your edit is in {copy}" if kept else None,
        )


def ask_tty(prompt: str) -> bool:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("", "y", "yes")


# -- clone ---------------------------------------------------------------------------------------


def random_mac(taken: set[str]) -> str:
    """A random locally administered MAC in QEMU's own prefix (52:54:00), unlike every one in ``taken``."""
    import secrets

    while True:
        mac = "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
        if mac not in taken:
            return mac


@dataclass(frozen=True)
class Cloned:
    path: Path
    macs: dict[str, str]  # NIC id -> its new MAC (NICs that had a MAC written)
    shared_disks: list[str]
    kept_ports: list[str]


def clone(name: str, new_name: str) -> Cloned:
    """A copy of a profile under a new name, beside it (its relative paths keep their meaning).

    Comments and layout are kept: only the ``name`` line and each NIC's ``mac`` line change. NICs
    without a MAC get a new one anyway (it is derived from the VM's name). Disks are not copied.
    """
    source = find_profile(name)
    _check_new_name(new_name)
    text = source.read_text()
    raw = tomllib.loads(text)
    profile = parse_profile(raw, str(source), default_name=source.stem)
    target = source.parent / f"{new_name}.toml"
    written = [i for i, nic in enumerate(raw.get("nics", [])) if "mac" in nic]
    taken = {nic.mac for nic in profile.nics}
    macs = {profile.nics[i].id: random_mac(taken) for i in written}
    new_text = _rewrite(text, new_name if "name" in raw else None, [macs[profile.nics[i].id] for i in written])
    new_text = f"# Cloned from {source} by `vmrun clone {name} {new_name}`.\n{new_text}"
    got = validate(new_text, target)
    if got.name != new_name or any(got.nics[i].mac != macs[got.nics[i].id] for i in written):
        raise ProfileError(
            f"cannot rewrite {source} line by line (a name or MAC spans lines?)",
            hint=f"copy it by hand to {target} and change name and the MACs",
        )
    _write_new(target, new_text, os.stat(source).st_mode & 0o777)
    ports = [f"{f.proto}/{f.host_port}" for _, f in profile.forwards]
    if profile.spice:
        ports.append(f"spice/{profile.spice.port}")
    return Cloned(target, macs, [d.file for d in profile.drives if not d.cdrom], ports)  # an ISO is only read


def _rewrite(text: str, new_name: str | None, macs: list[str]) -> str:
    """Change the top-level ``name`` and, in order, each ``mac`` line of the ``[[nics]]`` tables."""
    import re

    out, table, pending = [], "", list(macs)
    for line in text.splitlines(keepends=True):
        header = re.match(r"\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]", line)
        if header:
            table = header.group(2)
        elif new_name is not None and table == "" and re.match(r"\s*name\s*=", line):
            line = re.sub(r"(name\s*=\s*)(\"[^\"]*\"|'[^']*')", lambda m: f'{m.group(1)}"{new_name}"', line, count=1)
        elif table == "nics" and pending and re.match(r"\s*mac\s*=", line):
            mac = pending.pop(0)
            line = re.sub(r"(mac\s*=\s*)(\"[^\"]*\"|'[^']*')", lambda m, mac=mac: f'{m.group(1)}"{mac}"', line, count=1)
        out.append(line)
    return "".join(out)
