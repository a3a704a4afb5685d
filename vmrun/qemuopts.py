"""QEMU option strings (``key=value,key=value``) built safely from Python values.

QEMU splits an option on ``,`` and reads ``,,`` as a literal comma, so every
value is escaped here; nothing a profile says can add a key or an option.
"""

from __future__ import annotations

from collections.abc import Iterable

OptValue = str | int | bool | None


class OptionValueError(ValueError):
    pass


def escape(value: str) -> str:
    """Escape one option value: ``,`` doubles; control characters are refused."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise OptionValueError(f"control character in {value!r}")
    return value.replace(",", ",,")


def render_value(value: OptValue) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return escape(str(value))


def opts(head: str | None = None, pairs: Iterable[tuple[str, OptValue]] = ()) -> str:
    """``opts("tap", [("id", "n0"), ("vhost", True)])`` -> ``tap,id=n0,vhost=on``.

    ``head`` is the implied first value (a driver or backend name); pairs whose
    value is None are left out, so callers can pass optional settings as they are.
    """
    parts = [escape(head)] if head is not None else []
    for key, value in pairs:
        if value is None:
            continue
        parts.append(f"{key}={render_value(value)}")
    return ",".join(parts)


def split(option: str) -> list[str]:
    """Split an option string on single commas, undoing ``,,`` (for tests and import)."""
    out, cur, i = [], [], 0
    while i < len(option):
        c = option[i]
        if c == ",":
            if option[i + 1 : i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out
