"""How one profile key is read, and what the reference calls its type: one small class per kind of value.

A reader takes the key from a ``load.Table`` (which checks the TOML type,
refuses control characters and names the file and the dotted field in every
error) and returns None when the key is absent: the loader then applies the
key's default. ``label`` is the type column of `vmrun help profile`; ``show``
writes a default as that column does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vmrun.profile import fields


@dataclass(frozen=True)
class Context:
    """What a key's reader or computed default may need besides its own table."""

    source: str | None  # the profile file; None for a NIC given on the command line
    base: str  # the profile's folder: relative paths start there
    default_name: str = ""  # the file's name, the VM's name unless `name` says otherwise
    index: int = 0  # the position of a [[nics]] or [[drives]] table
    outer: Mapping[str, Any] = field(default_factory=dict)  # the keys read so far of the enclosing table

    @property
    def vm_name(self) -> str:
        return self.outer["name"]

    def inside(self, outer: Mapping[str, Any], index: int = 0) -> Context:
        return Context(self.source, self.base, self.default_name, index, outer)


class Reader:
    label = "string"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        raise NotImplementedError

    def show(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, enum.Enum):
            value = value.value
        return f'"{value}"' if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Text(Reader):
    """A one-line string, checked by ``parse`` if given (which raises ValueError with the message)."""

    parse: Callable[[str], Any] | None = None
    label: str = "string"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.get(key, str) if self.parse is None else t.parsed(key, self.parse)


@dataclass(frozen=True)
class Path(Reader):
    """A file: ``~`` and ``$VAR`` expanded, a relative path taken from the profile's folder."""

    label = "path"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.parsed(key, lambda value: fields.expand_path(value, ctx.base))


@dataclass(frozen=True)
class Flag(Reader):
    label = "bool"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.get(key, bool)


@dataclass(frozen=True)
class Number(Reader):
    """An integer from ``low`` to ``high``."""

    low: int = 1
    high: int = 65535

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"integer {self.low}-{self.high}"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.positive(key, None, low=self.low, high=self.high)


@dataclass(frozen=True)
class Size(Reader):
    """``"8G"`` or a bare integer, turned into a number by ``parse``; ``render`` writes it back."""

    parse: Callable[[Any], int]
    render: Callable[[int], str]
    label = "size"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.parsed(key, self.parse, (str, int))

    def show(self, value: Any) -> str:
        return f'"{self.render(value)}"'


@dataclass(frozen=True)
class Choice(Reader):
    """One of an enum's values."""

    choices: type[enum.Enum]

    @property
    def label(self) -> str:  # type: ignore[override]
        return ", ".join(m.value for m in self.choices)

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.choice(key, self.choices, None)


@dataclass(frozen=True)
class Strings(Reader):
    """A list of strings, each checked by ``parse`` if given; errors name the item (``hostfwd[1]``)."""

    parse: Callable[[str], Any] | None = None
    label = "list of strings"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return tuple(t.strings(key) if self.parse is None else t.parsed_list(key, self.parse))

    def show(self, value: Any) -> str:
        return ", ".join(f'"{v}"' for v in value) or "-"


@dataclass(frozen=True)
class MultiLine(Reader):
    """Text of several lines (tabs and newlines allowed), checked whole by ``parse``."""

    parse: Callable[[str], Any]
    label = "string"

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        t.used.add(key)
        value = t.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise t.error(key, f"expected a string (a multi-line '''...''' string), got {value!r:.40}")
        try:
            return self.parse(value)
        except ValueError as e:
            raise t.error(key, str(e)) from None


@dataclass(frozen=True)
class Table(Reader):
    """A ``[section]`` table, read by the loader with that section's keys; None when absent."""

    section: str
    label = "table"


@dataclass(frozen=True)
class Tables(Reader):
    """``[[section]]`` tables, each read with that section's keys; () when absent."""

    section: str
    label = "array of tables"
