"""The one pattern a VM's name follows: it becomes a folder under the runtime folder, never a path.

A module of its own so that every command can check a name without importing the profile package.
"""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # \Z: `$` would let a final newline through


def check_vm_name(value: str) -> str:
    """A VM name becomes a folder under the runtime directory and part of host object names."""
    if not NAME_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a usable name: letters, digits, '_', '.', '-', a letter or digit first, "
            "at most 64 characters (a name, not a path)"
        )
    return value
