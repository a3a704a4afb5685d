"""Whose files vmrun acts on: a profile, and each program it has vmrun run, must be yours or root's.

The model is ssh's StrictModes and sudo: the file and every folder above it must be owned by the
invoking user or by root, and writable by no one else. A folder others may write to is fine
above it only when it is sticky (like /tmp): then no one else can rename or replace what lies
in it. Symbolic links are followed, and both the path as written and the file it leads to are
checked, so a link in a folder someone else owns cannot point vmrun at a file of its choosing.

Without this, root running ``vmrun up web`` in a shared folder would run whatever program
another user's ``profiles/web.toml`` names, as root.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vmrun.errors import ProfileError, TrustError


def _owner(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _chain(path: str) -> list[str]:
    """``path`` and each folder above it, the file first."""
    out = [path]
    while True:
        parent = os.path.dirname(out[-1])
        if parent == out[-1]:
            return out
        out.append(parent)


def problem(path: str | os.PathLike[str], *, uid: int | None = None) -> tuple[str, str] | None:
    """Why ``path`` is not to be trusted, as (the place at fault, the reason), or None if it is."""
    me = os.geteuid() if uid is None else uid
    given = os.path.abspath(path)
    places = _chain(given)
    real = os.path.realpath(given)
    if real != given:
        places += [p for p in _chain(real) if p not in places]
    for place in places:
        try:
            st = os.lstat(place)
        except FileNotFoundError:
            continue  # nothing there to run; who could put it there is what the folders above say
        except OSError as e:
            return place, f"not to be checked: {e.strerror}"
        if st.st_uid not in (me, 0):
            return place, f"owned by {_owner(st.st_uid)}, not by you or root"
        if stat.S_ISLNK(st.st_mode):
            continue  # a link's own mode means nothing; where it leads is checked too
        if st.st_mode & 0o022 and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
            who = "others" if st.st_mode & 0o002 else "its group"
            return place, f"writable by {who} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def fix_for(place: str, reason: str) -> str:
    if "owned by" in reason:
        return f"if you trust it, chown it to yourself or root (chown root {place}), or copy it to a folder of yours"
    if "writable" in reason:
        return f"chmod go-w {place}, if you trust what is in it"
    return f"check {place}"


def check(path: str | os.PathLike[str], *, source: str | None = None, field: str | None = None) -> None:
    """Raise TrustError if ``path`` is not to be trusted.

    Without ``source`` the error is about ``path`` itself (a profile); with it, ``path`` is a
    program that the profile's ``field`` names.
    """
    found = problem(path)
    if found is None:
        return
    place, reason = found
    subject = "it" if os.path.abspath(place) == os.path.abspath(path) else place
    message = f"not trusted: {subject} is {reason}"
    if source is not None:
        message = f"{path} is {message}"
    where = source if source is not None else str(path)
    raise TrustError(message, source=where, field=field, hint=fix_for(place, reason))


def check_program(program: str | None, *, source: str | None, field: str) -> None:
    """A program the profile has vmrun (or QEMU, as this user) run: refused unless it is to be trusted."""
    if program and program != "no":
        check(program, source=source or "the profile", field=field)


def read_profile(path: Path) -> str:
    """The text of the profile at ``path``, checked as it is read (the file opened is the one checked)."""
    check(path)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid not in (os.geteuid(), 0) or st.st_mode & 0o022:
                check(path)  # changed between the check and the open: say how
                raise TrustError("not trusted: it changed while it was read", source=str(path))
            data = f.read()
    except OSError as e:
        raise ProfileError(f"cannot read: {e.strerror}", source=str(path)) from None
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise ProfileError("not valid TOML: not UTF-8 text", source=str(path)) from None
