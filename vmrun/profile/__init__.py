"""Profiles: a TOML file in, a frozen, validated :class:`Profile` out.

The names below are loaded when first asked for, so that importing one small module of the
package (``paths`` for completion, ``model`` for the types) does not load the whole loader.
"""

from __future__ import annotations

from typing import Any

_FROM = {
    "find_profile": "load",
    "load_profile": "load",
    **dict.fromkeys(["Accel", "Drive", "HostFwd", "Nic", "NicType", "Profile", "Spice", "Vhost", "Via"], "model"),
}

__all__ = sorted(_FROM)


def __getattr__(name: str) -> Any:
    if name not in _FROM:
        raise AttributeError(f"module 'vmrun.profile' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"vmrun.profile.{_FROM[name]}"), name)
