"""``$(...)`` at import: the read-only forms start.sh scripts use, worked out once and said so.

`vmrun import` runs nothing. It knows what ``$(nproc)``, ``$(dirname "$0")``,
``$(pwd)``, ``$(realpath X)``, ``$(which X)`` and ``$(cat FILE)`` give, for a FILE beside the
script only: an import run as root must never copy ``/etc/shadow`` into a
profile. The macvtap recipe's ``$(cat /sys/class/net/IF/address|ifindex)``
is not read at all: it becomes a marker that the NIC mapping turns into
``type = "macvtap"``, so no ifindex of this host is frozen into the profile.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmrun.importer.shell import Word, lex
from vmrun.importer.unknowns import PassThrough, Unresolved

if TYPE_CHECKING:
    from vmrun.importer.expand import Env

_SYSFS = re.compile(r"^/sys/class/net/([A-Za-z0-9_.-]{1,15})/(address|ifindex)$")
MARKER = re.compile(r"@sysfs:([A-Za-z0-9_.-]{1,15})/(address|ifindex)@")
_MAX_CAT = 4096


@dataclass(frozen=True)
class Fixed:
    text: str
    note: str | None  # what the note says about the value; None when nothing was fixed


class CannotRun(Exception):
    """Only a running shell knows this value."""


def sysfs_marker(name: str, what: str) -> str:
    return f"@sysfs:{name}/{what}@"


def substitute(raw: str, env: Env, line: int) -> Fixed:
    """The value of ``$(...)`` (or backquotes) ``raw``, or CannotRun."""
    inner = raw[2:-1] if raw.startswith("$(") else raw[1:-1]
    if inner.startswith("("):
        raise CannotRun(f"{raw} is shell arithmetic")
    words = _words(inner, env, line, raw)
    if not words:
        raise CannotRun(f"{raw} runs nothing")
    cmd, args = words[0], words[1:]
    if cmd == "nproc" and not args:
        n = os.cpu_count() or 1
        return Fixed(str(n), f"{raw} is {n}, the CPU count of the host it was imported on")
    if cmd == "pwd" and not args:
        return Fixed(env.folder, f"{raw} is taken as the script's folder {env.folder} (run from there)")
    if cmd == "dirname" and len(args) == 1:
        return Fixed(os.path.dirname(args[0]) or ".", None)
    if cmd in ("realpath", "readlink") and args:
        flags = [a for a in args if a.startswith("-")]
        paths = [a for a in args if not a.startswith("-")]
        if len(paths) == 1 and (cmd == "realpath" or flags in (["-f"], ["-e"], ["-m"])):
            return Fixed(os.path.normpath(os.path.join(env.folder, paths[0])), None)
    program = _looked_up(cmd, args)
    if program is not None:
        # Found on PATH when the script runs; vmrun looks it up on PATH the same way when it starts QEMU.
        return Fixed(program, f"{raw} is taken as {program}, looked up on PATH when vmrun starts it")
    if cmd == "cat" and len(args) == 1:
        return _cat(args[0], env, raw)
    if cmd == "cd" and len(args) >= 3 and args[1] == "&&" and args[2:] in (["pwd"], ["pwd", "-P"]):
        # $(cd "$(dirname "$0")" && pwd): the script's folder, absolute.
        return Fixed(os.path.normpath(os.path.join(env.folder, args[0])), None)
    raise CannotRun(f"{raw} needs a running shell")


def _looked_up(cmd: str, args: list[str]) -> str | None:
    """``which NAME``, ``command -v NAME``, ``type -P NAME``: the program NAME, as a PATH lookup finds it."""
    if (
        cmd == "which"
        and len(args) == 1
        or (cmd, args[:1]) in (("command", ["-v"]), ("type", ["-P"]))
        and len(args) == 2
    ):
        name = args[-1]
        if name and not name.startswith("-") and "/" not in name:
            return name
    return None


def _words(inner: str, env: Env, line: int, raw: str) -> list[str]:
    from vmrun.errors import ScriptError
    from vmrun.importer.shell import Op

    try:
        lexed = lex(inner, raw)
    except ScriptError:
        raise CannotRun(f"{raw} is not a command vmrun import reads") from None
    out: list[str] = []
    for tok in lexed.tokens:
        if isinstance(tok, Op):
            if tok.text == "&&":
                out.append("&&")
                continue
            if tok.text == "\n":
                continue
            raise CannotRun(f"{raw} needs a running shell (it has {tok.text!r})")
        if not isinstance(tok, Word):
            if tok.fd == "2" and tok.op == ">" and tok.target is not None and tok.target.raw == "/dev/null":
                continue  # 2>/dev/null: only the messages go
            raise CannotRun(f"{raw} needs a running shell (it redirects)")
        try:
            out += [f.text for f in env.fields(Word(tok.segments, line, tok.raw))]
        except (Unresolved, PassThrough) as e:
            raise CannotRun(f"{raw}: {e}" if str(e) else f"{raw} needs the script's arguments") from None
    return out


def _cat(path: str, env: Env, raw: str) -> Fixed:
    m = _SYSFS.match(path)
    if m:
        return Fixed(sysfs_marker(m.group(1), m.group(2)), None)
    from vmrun.importer.sourced import NotRead, read_beside

    try:
        full, text = read_beside(path, env.folder, _MAX_CAT)
    except NotRead as e:
        raise CannotRun(f"{raw}: not read: {e}") from None
    text = text.rstrip("\n")
    if "\n" in text or any(ord(c) < 0x20 for c in text):
        raise CannotRun(f"{raw}: {full} holds more than one line")
    return Fixed(text, f"{raw} is {text!r}, read from {full} at import")
