"""``vmrun net allow``: one ``allow BRIDGE`` line in qemu-bridge-helper's ACL, written once and atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vmrun.errors import ProfileError, StateError
from vmrun.hostnet import spec
from vmrun.net import bridgeacl


def default_conf(helper: str) -> str:
    """The file the helper reads: the path compiled into it."""
    return bridgeacl.conf_paths(helper)[0]


def allow(bridge: str, conf: str) -> str:
    """Add ``allow BRIDGE`` to ``conf`` unless the helper already lets the bridge through; what was done."""
    try:
        spec.check_ifname(bridge)
    except ValueError as e:
        raise ProfileError(f"BRIDGE: {e}") from None
    path = Path(conf)
    text = _read(path)
    lines = text.splitlines()
    rules = [line.split("#", 1)[0].split() for line in lines]
    if ["allow", bridge] in rules or ["allow", "all"] in rules:
        return f"{conf} allows {bridge} already"
    denied = [i + 1 for i, rule in enumerate(rules) if rule in (["deny", bridge], ["deny", "all"])]
    if denied:
        # The helper refuses a bridge any rule denies, whatever allows it.
        raise StateError(f"{conf}:{denied[0]} denies {bridge}; an allow line would not help",
                         hint=f"remove that line from {conf}")  # fmt: skip
    if text and not text.endswith("\n"):
        text += "\n"
    _write(path, f"{text}allow {bridge}\n")
    return f"{conf}: added allow {bridge}"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
    except OSError as e:
        raise StateError(f"cannot read {path}: {e.strerror}") from None


def _write(path: Path, text: str) -> None:
    """All or nothing: a helper starting meanwhile reads the old file or the new, never half of one."""
    try:
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as e:
        raise StateError(f"cannot write {path}: {e.strerror}", hint="run as root") from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
