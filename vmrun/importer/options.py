"""QEMU's argv into a profile table: each option vmrun understands to its key, the rest to extra_args.

The mapping itself is in :mod:`machine`, :mod:`devices` and :mod:`nics`; this
module holds what they share: the option list, QEMU's ``key=value`` syntax, and
the :class:`Mapper` that remembers what was taken, from which line, and why
anything was left in extra_args.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from vmrun.importer.expand import Field
from vmrun.importer.qemuoptions import FLAGS, TAKES_VALUE
from vmrun.importer.script import Script
from vmrun.qemuopts import split

# Boolean keys that QEMU's old parser also took bare ("readonly") or negated ("noreadonly").
BOOL_KEYS = {"readonly", "snapshot", "disable-ticketing", "restrict", "vhost", "vhostforce", "debug-threads", "mq"}
_TRUE = {"on", "yes", "true", "y"}
_FALSE = {"off", "no", "false", "n"}
_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Options whose whole value is a file, and options with files in some keys: what a relative path can be in.
_PATH_OPTIONS = {
    "-hda",
    "-hdb",
    "-hdc",
    "-hdd",
    "-cdrom",
    "-fda",
    "-fdb",
    "-bios",
    "-pflash",
    "-mtdblock",
    "-sd",
    "-dtb",
    "-L",
    "-kernel",
    "-initrd",
}
_PATH_KEYS = {
    "-drive": {"file"},
    "-blockdev": {"filename", "file.filename"},
    "-device": {"romfile"},
    "-chardev": {"path", "logfile"},
    "-object": {"mem-path", "filename"},
    "-fsdev": {"path"},
    "-virtfs": {"path"},
    "-acpitable": {"file"},
    "-smbios": {"file"},
    "-netdev": {"script", "downscript"},
}


class Unfit(Exception):
    """This option (or NIC) has no place in a profile; the message says why."""


@dataclass(frozen=True)
class Opt:
    index: int
    name: str  # "-device", also when spelled "--device"; "" for a bare disk image
    spelled: str
    value: Field | None
    line: int

    @property
    def argv(self) -> list[str]:
        head = [self.spelled] if self.spelled else []
        return head + ([self.value.text] if self.value else [])

    @property
    def text(self) -> str:
        return self.value.text if self.value else ""

    def __str__(self) -> str:
        return " ".join(self.argv)


def split_options(argv: list[Field]) -> list[Opt]:
    out: list[Opt] = []
    i = 0
    while i < len(argv):
        f = argv[i]
        if not f.text.startswith("-") or f.text == "-":
            out.append(Opt(len(out), "", "", f, f.line))  # QEMU reads a bare word as -hda
            i += 1
            continue
        name = "-" + f.text.lstrip("-")
        value = None
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if nxt is not None and name not in FLAGS and (name in TAKES_VALUE or not nxt.text.startswith("-")):
            value = nxt
            i += 1
        out.append(Opt(len(out), name, f.text, value, f.line))
        i += 1
    return out


def parse_opts(text: str, implied: str | None = None) -> tuple[str | None, list[tuple[str, str]]]:
    """``e1000,netdev=n0,readonly`` -> ("e1000", [("netdev", "n0"), ("readonly", "on")]).

    ``implied`` names the key a leading bare value stands for (``type``, ``driver``); written
    out (``type=q35``) it is taken as the head just the same.
    """
    parts = split(text)
    head = None
    if implied is not None and parts and "=" not in parts[0]:
        head = parts.pop(0)
    pairs: list[tuple[str, str]] = []
    for part in parts:
        if not part:
            continue  # a trailing comma: QEMU passes over it
        key, eq, value = part.partition("=")
        if not eq:
            if key.startswith("no") and key[2:] in BOOL_KEYS:
                key, value = key[2:], "off"
            else:
                value = "on"  # the deprecated bare form: disable-ticketing means disable-ticketing=on
        pairs.append((key, value))
    if head is None and implied is not None:
        for k, (key, value) in enumerate(pairs):
            if key == implied:
                head = value
                del pairs[k]
                break
    return head, pairs


def is_q35(m: Mapper) -> bool:
    return str(m.profile.get("machine", "")).split(",")[0].startswith(("q35", "pc-q35"))


def boolean(key: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise Unfit(f"{key}={value} is not on or off")


@dataclass
class Mapper:
    """One pass over the options; handlers take what they understand."""

    script: Script
    opts: list[Opt]
    profile: dict[str, Any] = field(default_factory=dict)
    notes: list[tuple[int | None, str]] = field(default_factory=list)
    origins: list[tuple[str, Field]] = field(default_factory=list)
    taken: dict[int, str] = field(default_factory=dict)  # option index -> what it became
    drive_opts: list[int] = field(default_factory=list)  # the option index of each [[drives]] table, in step
    reasons: dict[int, str | None] = field(default_factory=dict)  # why an option stays in extra_args
    script_name: tuple[str, int] | None = None

    def named(self, *names: str) -> list[Opt]:
        return [o for o in self.opts if o.name in names and o.index not in self.taken]

    def note(self, line: int | None, message: str) -> None:
        self.notes.append((line, message))

    def take(self, opt: Opt, what: str = "") -> None:
        self.taken[opt.index] = what
        self.reasons.pop(opt.index, None)

    def keep(self, opt: Opt, reason: str | None) -> None:
        """Leave ``opt`` for extra_args (also when part of it was taken), saying why; None: said elsewhere."""
        self.taken.pop(opt.index, None)
        self.reasons[opt.index] = reason

    def set(self, key: str, value: Any, source: Field | None = None) -> None:
        """Set a dotted key (``spice.port``, ``nics.1.bridge``) and remember the word it came from."""
        node = self.profile
        parts = key.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[parts[-1]] = value
        self.origin(key, source)

    def origin(self, key: str, source: Field | None) -> None:
        if source is not None and source.params:
            self.origins.append((key, source))

    def path(self, f: Field, what: str) -> str:
        """A file the script names; a relative one is taken from the script's folder, as run from there."""
        text = f.text
        if _PROTOCOL.match(text):
            raise Unfit(f"{what} {text!r} is not a local file")
        if not text:  # `-drive file=`: no medium, to QEMU; joined to the folder it would name the folder
            raise Unfit(f"an empty file name for {what}")
        if os.path.isabs(text) or text.startswith(("~", "$")):
            return text
        full = os.path.normpath(os.path.join(self.script.folder, text))
        self.note(f.line, f"the relative path {text} is taken from the script's folder: {full}")
        return full

    def extra_args(self) -> list[str]:
        out: list[str] = []
        for opt in self.opts:
            if opt.index in self.taken:
                continue
            reason = self.reasons.get(opt.index, "vmrun has no profile key for it")
            if reason is not None:
                self.note(opt.line, f"{opt}: {reason}; kept in extra_args")
            out += self.rebased(opt)
        return out

    def rebased(self, opt: Opt) -> list[str]:
        """The option as the script gave it, its relative paths taken from the script's folder as the rest are."""
        if opt.value is None:
            return opt.argv
        value = opt.value
        if opt.name in _PATH_OPTIONS or opt.name == "":
            empty = _PROTOCOL.match(value.text) or not value.text
            text = self.path(value, opt.name or "the disk image") if not empty else value.text
            return (opt.argv[:-1] if opt.spelled else []) + [text]
        keys = _PATH_KEYS.get(opt.name)
        if not keys:
            return opt.argv
        parts = split(value.text)
        for k, part in enumerate(parts):
            key, eq, path = part.partition("=")
            if eq and key in keys and path and not _PROTOCOL.match(path) and path != "no":
                parts[k] = f"{key}={self.path(Field(path, value.line, value.params), opt.name)}"
        return [opt.spelled, ",".join(p.replace(",", ",,") for p in parts)]
