"""Find a profile by name, read its TOML, apply overrides and validate it key by key as keys.py's records say.

Every error names the file and the dotted field (``nics[1].mac``), so a user
can go straight to the line; an error in a command-line override names the
option as typed (``--memory lots``) instead.
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from vmrun.errors import ProfileError
from vmrun.profile import fields, read
from vmrun.profile.checks import BY_SECTION
from vmrun.profile.keyrec import Key, Section, Shown
from vmrun.profile.keys import NICS, SECTIONS, TOP, own_keys
from vmrun.profile.model import Nic, NicType, Profile
from vmrun.profile.paths import search_path


def find_profile(name_or_path: str) -> Path:
    """The profile file for a name (the first on the search path that you can trust) or a path.

    A profile someone else could have written is never used (see vmrun.trust): as a path it is
    refused; found by name, it is passed over with a notice, so a file planted in ./profiles of a
    shared folder neither runs nor hides your own profile of that name.
    """
    from vmrun import trust

    path = Path(name_or_path)
    if path.suffix == ".toml" or os.sep in name_or_path:
        if not path.is_file():
            raise ProfileError("no such profile file", source=name_or_path)
        trust.check(path)
        return path
    passed_over: list[Path] = []
    for folder in search_path():
        candidate = folder / f"{name_or_path}.toml"
        if not candidate.is_file():
            continue
        if trust.problem(candidate) is None:
            _say_passed_over(passed_over, candidate)
            return candidate
        passed_over.append(candidate)
    if passed_over:
        trust.check(passed_over[0])
    looked = ", ".join(str(d) for d in search_path())
    raise ProfileError(
        f"no profile named {name_or_path!r}",
        hint=f"looked in {looked}; give a path or set VMRUN_PROFILE_PATH",
    )


def _say_passed_over(passed_over: list[Path], used: Path) -> None:
    from vmrun import trust, ui

    for path in passed_over:
        place, reason = trust.problem(path) or (str(path), "?")
        subject = "it" if place == os.path.abspath(path) else place
        ui.notice(f"{path} passed over, not trusted ({subject} is {reason}); using {used}")


class Override(NamedTuple):
    """A value set from the command line; ``label`` is how it was typed (``--memory 16G``).

    An error in a labelled override names the label, not the file; a bare (key, value) pair is
    blamed on the file like the profile's own keys.
    """

    key: str
    value: Any
    label: str | None = None


def load_profile(
    name_or_path: str, *, overrides: Sequence[Override | tuple[str, Any]] = (), source: Path | None = None
) -> Profile:
    """Read and validate a profile; ``overrides`` are applied first."""
    from vmrun import trust

    path = source or find_profile(name_or_path)
    try:
        raw = tomllib.loads(trust.read_profile(path))
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"not valid TOML: {e}", source=str(path)) from None
    given = [Override(*o) for o in overrides]
    for override in given:
        apply_override(raw, override, str(path))
    try:
        return parse_profile(raw, str(path), default_name=path.stem)
    except ProfileError as e:
        culprit = _override_of(e.field, given)
        if culprit is None:
            raise
        raise _blame(culprit, str(path), e.reason, e.hint) from None


def parse_override(text: str) -> Override:
    """``key=value`` from ``--set``; the value is read as TOML if it can be, else as a string."""
    key, sep, value = text.partition("=")
    label = f"--set {text}"
    if not sep or not key.strip():
        raise ProfileError("write key=value, e.g. --set spice.port=8001", field=fields.visible(label))
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return Override(key.strip(), parsed, label)


def _dotted(field: str) -> list[str]:
    """``nics[1].bridge`` and ``nics.1.bridge`` alike, as parts."""
    return field.replace("[", ".").replace("]", "").split(".")


def _override_of(field: str | None, overrides: Sequence[Override]) -> Override | None:
    """The labelled override that set ``field`` or a table or list holding it; the last one wins, as in apply."""
    if field is None:
        return None
    parts = _dotted(field)
    for override in reversed(overrides):
        key = _dotted(override.key)
        if override.label and parts[: len(key)] == key:
            return override
    return None


def _blame(override: Override, source: str, message: str, hint: str | None = None) -> ProfileError:
    """An error in an override: on its label as typed, or on the file when it has none."""
    if override.label:
        return ProfileError(message, field=fields.visible(override.label), hint=hint)
    return ProfileError(message, source=source, field=f"--set {fields.visible(override.key)}", hint=hint)


def apply_override(raw: dict[str, Any], override: Override, source: str) -> None:
    """Set a scalar at a dotted path (``memory``, ``spice.port``, ``nics.1.bridge``)."""
    parts = _dotted(override.key)
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = fields.visible(".".join(parts[: i + 1]))
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise _blame(override, source, f"no item {part!r} in {where.rsplit('.', 1)[0]}")
            part = int(part)
        elif not isinstance(node, dict):
            raise _blame(override, source, f"{where} is not a table")
        if last:
            if isinstance(node[part] if isinstance(node, list) else node.get(part), (dict, list)):
                raise _blame(override, source, "only scalars can be set")
            node[part] = override.value
        else:
            if isinstance(node, dict):
                if part not in node and parts[i + 1].isdigit():
                    raise _blame(override, source, f"there is no {where}[{parts[i + 1]}] to set")
                node = node.setdefault(part, {})
            else:
                node = node[part]


class Table:
    """Typed access to one TOML table that remembers which keys were used."""

    def __init__(self, data: Mapping[str, Any], source: str | None, path: str) -> None:
        self.data, self.source, self.path = data, source, path
        self.used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, hint: str | None = None) -> ProfileError:
        return ProfileError(message, source=self.source, field=fields.visible(self.field(key)), hint=hint)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_kind_name(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_kind_name(kinds)}, got {value!r}")
        if isinstance(value, str):
            self._printable(key, value)
        return value

    def _printable(self, key: str, value: str) -> None:
        """Every string of a profile passes here, whatever field it becomes."""
        try:
            fields.check_printable(value)
        except ValueError as e:
            raise self.error(key, str(e)) from None

    def parsed(self, key: str, parser: Any, kind: type | tuple[type, ...] = str, default: Any = None) -> Any:
        value = self.get(key, kind)
        if value is None:
            return default
        try:
            return parser(value)
        except ValueError as e:
            raise self.error(key, str(e)) from None

    def choice(self, key: str, enum_type: type[enum.Enum], default: Any) -> Any:
        value = self.get(key, str)
        if value is None:
            return default
        try:
            return enum_type(value)
        except ValueError:
            allowed = " | ".join(m.value for m in enum_type)
            raise self.error(key, f"{value!r} is not one of {allowed}") from None

    def positive(
        self, key: str, default: int | None = None, *, low: int = 1, high: int = 65535, required: bool = False
    ) -> int | None:
        value = self.get(key, int, required=required)
        if value is None:
            return default
        if not low <= value <= high:
            raise self.error(key, f"{value} is out of range {low}-{high}")
        return value

    def parsed_list(self, key: str, parser: Any) -> list[Any]:
        """A list of strings, each through ``parser``; an error names the item (``hostfwd[1]``)."""
        out = []
        for i, item in enumerate(self.strings(key)):
            try:
                out.append(parser(item))
            except ValueError as e:
                raise self.error(f"{key}[{i}]", str(e)) from None
        return out

    def strings(self, key: str) -> list[str]:
        value = self.get(key, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{key}[{i}]", f"expected a string, got {item!r}")
            self._printable(f"{key}[{i}]", item)
        return value

    def tables(self, key: str) -> Iterable[Table]:
        value = self.get(key, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{i}]", f"expected a table ([[{key}]]), got {item!r}")
            yield Table(item, self.source, self.field(f"{key}[{i}]"))

    def subtable(self, key: str) -> Table | None:
        value = self.get(key, dict)
        return None if value is None else Table(value, self.source, self.field(key))

    def require_one(self, *keys: str, what: str, hint: str | None = None) -> None:
        """At least one of ``keys`` is given; else ``what`` is the error, on the first key."""
        if not any(self.data.get(k) is not None for k in keys):
            raise self.error(keys[0], what, hint=hint)

    def reject_unknown(self, allowed: Iterable[str] | None = None) -> None:
        known = self.used if allowed is None else set(allowed)
        for key in self.data:
            if key not in known:
                raise self.error(key, "unknown key", hint=_did_you_mean(key, known))


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        list: "a list",
        dict: "a table",
        float: "a number",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _did_you_mean(key: str, known: Iterable[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def parse_profile(raw: Mapping[str, Any], source: str, *, default_name: str) -> Profile:
    base = os.path.dirname(os.path.abspath(source))
    return parse_table(TOP, Table(raw, source, ""), read.Context(source, base, default_name), source=source)


def parse_table(section: Section, t: Table, ctx: read.Context, **given: Any) -> Any:
    """A table read key by key as ``section``'s records say, then checked across keys (checks.py).

    The NIC type (network kind) is read first, as it says which keys apply and which are
    required; then the required keys, then the others in order. Every key is read and
    checked, so a bad value is named as such even where it does not apply. ``given`` fills
    what no key gives (the profile's ``source``).
    """
    values: dict[str, Any] = {}
    variant = None
    if section.variant:
        variant = values[section.variant] = _value(section.record(section.variant), t, ctx, values)
    applying = section.applying(variant)
    for key in applying:  # the keys it cannot be without, first
        if key.required:
            if key.name not in t.data:
                raise t.error(key.name, "is required")
            values[key.name] = _value(key, t, ctx, values)
    for key in section.pick(variant):
        if key.name not in values:
            values[key.name] = _value(key, t, ctx, values)
    allowed = {k.name for k in applying}
    if section.variant:
        for name in t.data:
            if name not in allowed and name in values:
                raise t.error(name, f"does not apply to {section.noun} {variant.value!r}")
    t.reject_unknown(allowed)
    made = section.model(**{k.attr: values[k.name] for k in section.pick(variant)}, **given)
    check = BY_SECTION.get(section.name)
    return made if check is None else check(t, made)


def _value(key: Key, t: Table, ctx: read.Context, values: dict[str, Any]) -> Any:
    """One key's value: a section's tables read in turn, else the key's reader, else its default."""
    reader = key.read
    if isinstance(reader, read.Tables):
        tables = enumerate(t.tables(key.name))
        return tuple(parse_table(SECTIONS[reader.section], item, ctx.inside(values, i)) for i, item in tables)
    if isinstance(reader, read.Table):
        table = t.subtable(key.name)
        return None if table is None else parse_table(SECTIONS[reader.section], table, ctx.inside(values))
    value = reader.read(t, key.name, ctx)
    if value is not None:
        return value
    if isinstance(key.default, Shown) and key.default.compute:
        return key.default.compute(ctx, values)
    return key.value_default


_NIC_KEYS = own_keys(NICS)  # which keys each NIC type takes besides every NIC's (a unit test reads it)


def parse_cli_nic(raw: Mapping[str, Any], vm_name: str, index: int) -> Nic:
    """A NIC given to `vmrun nic add`, checked as a [[nics]] table is; errors name the option typed (``--vlan 5000``)."""
    try:
        return parse_table(NICS, Table(raw, None, ""), read.Context(None, "", index=index, outer={"name": vm_name}))
    except ProfileError as e:
        key = e.field or ""
        name, _, item = key.partition("[")
        value = raw.get(name)
        if item and isinstance(value, list):
            value = value[int(item.rstrip("]"))]
        option = option_for_nic_key(str(raw.get("type", NicType.USER)), key)
        typed = option if value is None or isinstance(value, (list, dict)) else f"{option} {value}"
        raise ProfileError(e.reason, field=fields.visible(typed), hint=e.hint) from None


def option_for_nic_key(nic_type: str, key: str) -> str:
    """The `vmrun nic add` option that gives a NIC key (``bridge``, ``hostfwd[0]``, ``nics[2].vlan``)."""
    name = key.rsplit(".", 1)[-1].partition("[")[0]
    variant = next((t for t in NicType if t.value == nic_type), None)
    record = next((k for k in NICS.pick(variant) if k.name == name), None)
    return record.option if record and record.option else f"--{name}"
