"""Where profiles are looked for by name: ./profiles, the user's folder, $VMRUN_PROFILE_PATH (cheap to import:
shell completion lists these folders at every Tab)."""

from __future__ import annotations

import os
from pathlib import Path


def search_path() -> list[Path]:
    """Where ``NAME`` is looked for: ./profiles, $XDG_CONFIG_HOME/vmrun/profiles, $VMRUN_PROFILE_PATH."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    dirs = [Path("profiles"), config / "vmrun" / "profiles"]
    dirs += [Path(p) for p in os.environ.get("VMRUN_PROFILE_PATH", "").split(os.pathsep) if p]
    return dirs


def home_folder() -> Path:
    """Where `new` and `import` write: the user's own folder on the path, found wherever vmrun runs from."""
    return search_path()[1]
