"""Writing back to a profile without losing the user's comments and layout: append, never rewrite."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from vmrun.errors import ProfileError
from vmrun.files import replace_file
from vmrun.profile.model import Nic


def append_nic(nic: Nic, raw: dict[str, Any], profile_path: str) -> Path:
    """Append a ``[[nics]]`` table for ``nic`` (as requested, plus its resolved id and MAC)."""
    import tomli_w

    path = Path(profile_path)
    table = {"id": nic.id, "mac": nic.mac, **{k: v for k, v in raw.items() if k not in ("id", "mac")}}
    block = tomli_w.dumps({"nics": [table]})
    stamp = time.strftime("%Y-%m-%d %H:%M")
    text = path.read_text()
    separator = "" if text.endswith("\n") or not text else "\n"
    new = f"{text}{separator}\n# added by `vmrun nic add` on {stamp}\n{block}"
    _check(new, path)
    replace_file(path, new)
    return path


def _check(text: str, path: Path) -> None:
    """The profile must still load, with the NIC in it, before it replaces the old one."""
    import tomllib

    from vmrun.profile.load import parse_profile

    try:
        parse_profile(tomllib.loads(text), str(path), default_name=path.stem)
    except (tomllib.TOMLDecodeError, ProfileError) as e:
        raise ProfileError(f"not saved: the profile would no longer load ({e})", source=str(path)) from None
