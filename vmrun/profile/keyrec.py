"""The record of one profile key (``Key``) and of a group of them (``Section``): what keys.py and devicekeys.py list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vmrun.profile.read import Choice, Context, Reader


@dataclass(frozen=True)
class Shown:
    """A default the reference gives in words: computed by ``compute`` from what was read, or None (filled later)."""

    text: str
    compute: Callable[[Context, dict[str, Any]], Any] | None = None


@dataclass(frozen=True)
class Key:
    name: str
    read: Reader
    meaning: str  # one line, for `vmrun help profile`
    default: Any = None  # a value, or Shown(...) where it is computed
    field: str = ""  # the dataclass field it fills, if not ``name``
    only: tuple[Any, ...] | None = None  # the NIC types or network kinds it applies to; None: all
    required: bool = False  # wherever it applies
    option: str | None = None  # the command-line flag that gives it (`vmrun up --memory`, `nic add --vlan`)

    @property
    def attr(self) -> str:
        return self.field or self.name

    @property
    def value_default(self) -> Any:
        """The default as a value: None where it is computed or left to a later step."""
        return None if isinstance(self.default, Shown) else self.default

    def applies(self, variant: Any) -> bool:
        return self.only is None or variant in self.only


@dataclass(frozen=True)
class Section:
    name: str  # "" (the top level), "spice", "drives", "nics", "networks", "cloud_init"
    model: type  # the frozen dataclass each of its tables becomes
    keys: tuple[Key, ...]
    variant: str | None = None  # the key whose value says which others apply ("type", "kind")
    noun: str = ""  # "a NIC of type": the error for a key that does not apply

    def pick(self, variant: Any = None) -> Iterator[Key]:
        """Each key once, in order: the record for ``variant`` where a key has one per type, else its first."""
        seen: set[str] = set()
        for key in self.keys:
            if key.name not in seen:
                seen.add(key.name)
                yield next((k for k in self.keys if k.name == key.name and k.only and variant in k.only), key)

    def applying(self, variant: Any = None) -> list[Key]:
        return [k for k in self.keys if k.applies(variant)]

    def record(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)

    def variants(self) -> list[Any]:
        """The NIC types or network kinds, in the order of their enum."""
        choice = self.record(self.variant or "").read
        assert isinstance(choice, Choice)
        return list(choice.choices)
