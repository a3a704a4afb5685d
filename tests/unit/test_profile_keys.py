"""The records of profile/keys.py: one per key, each read by the loader, mapped onto its dataclass field, its flag real."""

from __future__ import annotations

import dataclasses

import pytest
import typer

from vmrun.errors import ProfileError
from vmrun.profile import keyrec, keys
from vmrun.profile.load import parse_profile
from vmrun.profile.read import Table, Tables

SECTIONS = list(keys.SECTIONS.values())
NOT_KEYS = {keys.TOP.name: {"source"}}  # fields no key fills


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name or "top")
def test_every_field_is_one_key_and_every_key_a_field(section):
    fields = {f.name for f in dataclasses.fields(section.model)} - NOT_KEYS.get(section.name, set())
    attrs = [k.attr for k in section.pick()]
    assert sorted(attrs) == sorted(fields)
    assert len(attrs) == len(set(attrs))


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name or "top")
def test_defaults_agree_with_the_dataclass(section):
    """model.py's defaults (used by callers that build a Nic or a Drive themselves) and the records' do not drift."""
    given = {f.name: f.default for f in dataclasses.fields(section.model)}
    for k in section.keys:
        if isinstance(k.read, (Table, Tables)) or k.attr not in given or given[k.attr] is dataclasses.MISSING:
            continue
        expected = given[k.attr]
        if isinstance(k.default, keyrec.Shown):
            assert expected is None, k.name
        else:
            assert k.default == expected, k.name


def test_meanings_are_one_line():
    for section in SECTIONS:
        for k in section.keys:
            assert k.meaning.strip() and "\n" not in k.meaning, (section.name, k.name)


def _wrap(section: keyrec.Section, table: dict) -> dict:
    """A profile holding ``table`` where ``section``'s tables go."""
    if section is keys.TOP:
        return table
    for k in keys.TOP.keys:
        if getattr(k.read, "section", None) == section.name:
            return {k.name: [table] if isinstance(k.read, Tables) else table}
    raise AssertionError(section.name)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name or "top")
def test_the_loader_reads_every_key(section):
    """A value of no TOML type at all is refused naming the key: the key was read, not passed over as unknown."""
    base = {
        "nics": {"type": "user"},
        "networks": {"name": "n", "kind": "nat"},
        "spice": {"port": 5930},
        "drives": {"file": "a.img"},
        "shares": {"source": "s", "tag": "t"},
        "pci": {"host": "0000:01:00.0"},
        "serials": {"type": "tcp", "port": 4555},
    }.get(section.name, {})
    for k in section.keys:
        if k.name == section.variant:
            continue
        table = {**base, k.name: object()}
        with pytest.raises(ProfileError) as e:
            parse_profile(_wrap(section, table), "p.toml", default_name="p")
        assert e.value.field.split(".")[-1].startswith(k.name) and "unknown key" not in e.value.reason, e.value.message


def _flags(command: typer.Typer, name: str) -> set[str]:
    click = typer.main.get_command(command).commands[name]  # type: ignore[attr-defined]
    return {opt for param in click.params for opt in param.opts}


def test_flags_are_options_of_the_commands_that_take_them():
    from vmrun.cli import app
    from vmrun.cli.net import net_app
    from vmrun.cli.nic import nic_app

    up = _flags(app, "up")
    for k in keys.TOP.keys:
        assert k.option is None or k.option in up, k.name
    nic_add = _flags(nic_app, "add")
    for k in keys.NICS.keys:
        assert k.option is None or k.option in nic_add, k.name
    net_create = _flags(net_app, "create") | {"NAME", "--no-autostart"}
    for k in keys.NETWORKS.keys:
        assert k.option is None or k.option in net_create, k.name
