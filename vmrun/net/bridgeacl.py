"""qemu-bridge-helper's ACL (bridge.conf): would the helper let a guest onto this bridge?

Read as the helper reads it: ``allow NAME|all``, ``deny NAME|all``, ``include
FILE``; a bridge is allowed when some rule allows it and none denies it. A
self-built helper (as in the seed) reads /usr/local/etc/qemu/bridge.conf; we
find the path compiled into the helper, else try the usual two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CONFS = ("/etc/qemu/bridge.conf", "/usr/local/etc/qemu/bridge.conf")


@dataclass(frozen=True)
class AclVerdict:
    allowed: bool
    conf: str  # the top-level file the helper reads
    reason: str


def conf_paths(helper: str) -> list[str]:
    """The ACL path(s) the helper was built with, found in its binary; else the usual ones."""
    try:
        data = Path(helper).read_bytes()
    except OSError:
        return list(DEFAULT_CONFS)
    found = [m.decode() for m in re.findall(rb"(/[\w./-]*/qemu/bridge\.conf)\x00", data)]
    return found or list(DEFAULT_CONFS)


@dataclass(frozen=True)
class Rule:
    cmd: str  # allow | deny
    arg: str  # a bridge, or "all"
    where: str  # FILE:LINE, for messages

    def matches(self, cmd: str, bridge: str) -> bool:
        return self.cmd == cmd and self.arg in (bridge, "all")


def rules(path: Path, depth: int = 0) -> list[Rule]:
    """The allow/deny rules of an ACL file, its includes followed (raises OSError for the file itself)."""
    if depth > 8:
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if len(words) != 2:
            continue
        cmd, arg = words
        if cmd == "include":
            try:
                found += rules(Path(arg), depth + 1)
            except OSError:
                continue
        elif cmd in ("allow", "deny"):
            found.append(Rule(cmd, arg, f"{path}:{number}"))
    return found


def check(bridge: str, helper: str) -> AclVerdict:
    for conf in conf_paths(helper):
        path = Path(conf)
        if not path.exists():
            continue
        try:
            acl = rules(path)
        except OSError as e:
            return AclVerdict(False, conf, f"{conf} cannot be read: {e.strerror}")
        allowed = any(r.matches("allow", bridge) for r in acl)
        denied = [r for r in acl if r.matches("deny", bridge)]
        if denied:
            return AclVerdict(False, conf, f"{denied[0].where} denies {bridge}")
        if not allowed:
            return AclVerdict(False, conf, f"{conf} does not allow {bridge}")
        return AclVerdict(True, conf, f"{conf} allows {bridge}")
    first = conf_paths(helper)[0]
    return AclVerdict(False, first, f"{first} does not exist")
