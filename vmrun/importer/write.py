"""The profile as TOML (tomli-w) under a comment header, written only where nothing is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from vmrun.errors import ProfileError
from vmrun.files import replace_file


def render(profile: dict[str, Any], *, source: str, notes: list[str]) -> str:
    head = [f"# Imported from {source} by `vmrun import`."]
    if notes:
        head.append("# What the import said (review these):")
        head += [f"#   {note}" for note in notes]
    # Every table in its own section ([[drives]] too, which tomli-w would inline when short).
    parts = ["\n".join(head) + "\n\n" + tomli_w.dumps({k: v for k, v in profile.items() if not _is_table(v)})]
    for key, value in profile.items():
        if isinstance(value, dict):
            parts.append(f"[{key}]\n" + tomli_w.dumps(value))
        elif _is_table(value):
            parts += [f"[[{key}]]\n" + tomli_w.dumps(item) for item in value]
    return "\n".join(parts)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and bool(value) and isinstance(value[0], dict))


def write_new(path: Path, text: str, *, force: bool) -> None:
    """Write ``text``; an existing file is replaced only with ``force``, and then whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        try:
            with path.open("x") as f:
                f.write(text)
        except FileExistsError:
            raise ProfileError(
                "exists already", source=str(path), hint="add --force to overwrite it, or write elsewhere with -o PATH"
            ) from None
        return
    replace_file(path, text, mode=None if path.exists() else 0o644)
