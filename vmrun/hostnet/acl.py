"""``vmrun net allow``: one ``allow BRIDGE`` line in qemu-bridge-helper's ACL, written once and atomically."""

from __future__ import annotations

from pathlib import Path

from vmrun.errors import ProfileError, StateError
from vmrun.files import replace_file
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
    acl = bridgeacl.rules(path) if text else []
    denied = [r for r in acl if r.matches("deny", bridge)]
    if denied:
        # The helper refuses a bridge any rule denies, whatever allows it.
        raise StateError(
            f"{denied[0].where} denies {bridge}; an allow line would not help",
            hint=f"remove that line from {denied[0].where.rsplit(':', 1)[0]}",
        )
    if any(r.matches("allow", bridge) for r in acl):
        return f"{conf} allows {bridge} already"
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
        replace_file(path, text, mode=None if path.exists() else 0o644)
    except OSError as e:
        raise StateError(f"cannot write {path}: {e.strerror}", hint="run as root") from None
