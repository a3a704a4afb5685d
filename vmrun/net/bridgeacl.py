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


def _rules(path: Path, depth: int = 0) -> list[tuple[str, str]]:
    if depth > 8:
        return []
    rules = []
    for line in path.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) != 2:
            continue
        cmd, arg = words
        if cmd == "include":
            try:
                rules += _rules(Path(arg), depth + 1)
            except OSError:
                continue
        elif cmd in ("allow", "deny"):
            rules.append((cmd, arg))
    return rules


def check(bridge: str, helper: str) -> AclVerdict:
    for conf in conf_paths(helper):
        path = Path(conf)
        if not path.exists():
            continue
        try:
            rules = _rules(path)
        except OSError as e:
            return AclVerdict(False, conf, f"{conf} cannot be read: {e.strerror}")
        allowed = any(cmd == "allow" and arg in (bridge, "all") for cmd, arg in rules)
        denied = any(cmd == "deny" and arg in (bridge, "all") for cmd, arg in rules)
        if denied:
            return AclVerdict(False, conf, f"{conf} denies {bridge}")
        if not allowed:
            return AclVerdict(False, conf, f"{conf} does not allow {bridge}")
        return AclVerdict(True, conf, f"{conf} allows {bridge}")
    first = conf_paths(helper)[0]
    return AclVerdict(False, first, f"{first} does not exist")
