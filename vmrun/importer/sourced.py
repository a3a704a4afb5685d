"""``source FILE`` / ``. FILE``: the file's assignments read at import, when it lies beside the script.

Nothing in it is run. The confinement is ``$(cat FILE)``'s: a plain, small file
in the script's own folder, never through a symlink. A file elsewhere is not
read; the variables the QEMU command then lacks are named in one line, each with
the way to give it (``--set KEY=VALUE`` for a profile key, else ``--var NAME=VALUE``).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmrun.errors import ScriptError
from vmrun.importer.commands import commands, is_assignments, looks_assigned, soft_words, strip_keywords
from vmrun.importer.shell import lex

if TYPE_CHECKING:
    from vmrun.importer.expand import Env
    from vmrun.importer.shell import Word

_MAX = 64 * 1024
# Variables every login has: left as written (vmrun expands them in paths), never "left unset".
ENVIRONMENT = {
    "HOME",
    "USER",
    "LOGNAME",
    "PWD",
    "SHELL",
    "PATH",
    "TMPDIR",
    "DISPLAY",
    "UID",
    "EUID",
    "HOSTNAME",
    "LANG",
    "TERM",
    "SUDO_USER",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
}


class NotRead(Exception):
    """Why the sourced file is not read (outside the folder, missing, not a plain file)."""


@dataclass(frozen=True)
class Unread:
    line: int
    written: str  # as the script names it
    reason: str


def read_beside(path: str, folder: str, limit: int = _MAX) -> tuple[str, str]:
    """The file's full path and text, if it is a plain file of at most ``limit`` bytes in ``folder``;
    else NotRead. The one confinement of what import reads: ``source FILE`` and ``$(cat FILE)``."""
    full = os.path.normpath(os.path.join(folder, path))
    if os.path.dirname(full) != os.path.normpath(folder):
        raise NotRead("it lies outside the script's folder (vmrun import reads only files beside the script)")
    if os.path.islink(full):
        raise NotRead("it is a symbolic link (vmrun import reads only plain files beside the script)")
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise NotRead(f"cannot read {full}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            raise NotRead(f"{full} is not a plain file of at most {_size(limit)}")
        data = os.read(fd, limit)
    finally:
        os.close(fd)
    try:
        return full, data.decode()
    except UnicodeDecodeError:
        raise NotRead(f"{full} is not text") from None


def _size(limit: int) -> str:
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


def unset_message(unread: list[Unread], missing: list[tuple[str, str | None]], source: str) -> tuple[str, str]:
    """The one line and its hint: which source was not read, which variables the QEMU command then lacks."""
    first = unread[0]
    names = ", ".join(f"${name}" for name, _ in missing)
    what = f"source {first.written} is not read: {first.reason}; the QEMU command then uses {names}, "
    what += "which nothing else in the script sets"
    gives = [f"--set {key}=VALUE" if key else f"--var {name}=VALUE" for name, key in missing]
    return what, f"give {'them' if len(missing) > 1 else 'it'}: vmrun import {source} {' '.join(gives)}"


_SOURCE_DEPTH = 4  # files sourcing files: scripts use one or two


def source(words: list[Word], env: Env, notes: list[tuple[int, str]], depth: int = 0) -> None:
    """``source FILE``: its assignments, read when FILE lies beside the script; else remembered as not read."""
    written = (soft_words(words[1:2], env) or [words[1].raw])[0]
    line = words[0].line
    try:
        if depth >= _SOURCE_DEPTH:
            raise NotRead(f"files source files more than {_SOURCE_DEPTH} deep")
        full, text = read_beside(written, env.folder)
        try:
            found = commands(lex(text, full).tokens)
        except ScriptError as e:
            raise NotRead(f"vmrun import cannot read it: {e.message}") from None
    except NotRead as e:
        env.unread.append(Unread(line, written, str(e)))
        env.give()  # --var: what the file would have set
        notes.append((line, f"source {written}: not read: {e}"))
        return
    names: list[str] = []
    for cmd in found:
        inner = strip_keywords(cmd.words)
        if inner and inner[0].raw in ("source", ".") and len(inner) > 1:
            source(inner, env, notes, depth + 1)
        elif inner and is_assignments(inner, env):
            names += [re.match(r"[A-Za-z_][A-Za-z0-9_]*", w.raw).group() for w in inner if looks_assigned(w)]  # type: ignore[union-attr]
    what = f"its assignments ({', '.join(dict.fromkeys(names))})" if names else "it assigns nothing"
    notes.append((line, f"source {written}: read at import from {full}: {what}; nothing in it is run"))
