"""`vmrun import`: a start.sh (or a bare QEMU command line) into a profile, saying what did not fit.

start.sh --shell.py/expand.py--> words --script.py--> the QEMU command
         --convert.py (machine, devices, nics)--> profile table + notes
         --write.py--> TOML, checked by loading it as vmrun would
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmrun.errors import ProfileError, ScriptError
from vmrun.importer import vmstate
from vmrun.importer.convert import convert, parameter_notes
from vmrun.importer.script import one_line, read_script
from vmrun.importer.write import render, write_new
from vmrun.profile import fields
from vmrun.profile.model import Profile


@dataclass
class Imported:
    name: str
    profile: dict[str, Any]
    text: str
    notes: list[str]
    path: Path | None  # None: printed, not written

    @property
    def shown_as(self) -> str:
        """How `vmrun show` finds it: by name when that finds this very file, else by its path."""
        from vmrun.errors import ProfileError
        from vmrun.profile.load import find_profile

        try:
            found = find_profile(self.name)
        except ProfileError:
            return str(self.path)
        same = self.path is not None and found.resolve() == self.path.resolve()
        return self.name if same else str(self.path)


def import_script(
    script: str,
    *,
    name: str | None = None,
    output: str | None = None,
    force: bool = False,
    args: list[str] | None = None,
    sets: list[str] = (),  # type: ignore[assignment]
    variables: list[str] = (),  # type: ignore[assignment]
) -> Imported:
    """Read ``script`` ("-": stdin), write the profile to ``output`` (default: where `up` finds it, "-": none).

    ``args``: what the script would be run with (``$1``, ``"$@"``); None: not given.
    ``variables``: ``NAME=VALUE`` shell variables the script uses but does not set (`--var`).
    """
    from vmrun.profile.load import apply_override, parse_override

    overrides = [parse_override(text) for text in sets]
    text, folder = _read(script)
    filled = frozenset(o.key for o in overrides)
    given = dict(_variable(text) for text in variables)
    source = script if script != "-" else "<stdin>"
    read = read_script(text, source=source, folder=folder, args=args, filled=filled, given=given)
    converted = convert(read)
    vm = _name(name, converted.script_name, output, script, read.source)
    profile = {"name": vm, **converted.profile}
    for override in overrides:
        apply_override(profile, override, read.source)
    notes = converted.notes + parameter_notes(converted.origins, profile)
    where = [(line or 0, read.where(line), message) for line, message in notes]
    where += [
        (a.first, read.where(a.lines), f"commented out, not imported: {a.text}" + (f"   ({a.note})" if a.note else ""))
        for a in read.alternatives
    ]
    lines = [one_line(f"{at}: {message}") for _, at, message in sorted(where, key=lambda n: n[0])]
    toml = render(profile, source=one_line(read.source), notes=lines)
    path = None if output == "-" else Path(output) if output else _home(vm)
    loaded = _check(toml, path, vm, read.source)
    planned = vmstate.plan(converted.copies, loaded, written=path is not None, force=force)
    if planned:
        lines += [one_line(f"{read.where(p.copy.line)}: {p.note}") for p in planned]
        toml = render(profile, source=one_line(read.source), notes=lines)
    if path is not None:
        write_new(path, toml, force=force)
        vmstate.carry_out(planned, vm)
    return Imported(vm, profile, toml, lines, path)


def _variable(text: str) -> tuple[str, str]:
    import re

    from vmrun.errors import UsageError

    name, eq, value = text.partition("=")
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"--var {text}: not NAME=VALUE with a shell variable's name", hint="e.g. --var DISK=vm.qcow2")
    return name, value


def _home(vm: str) -> Path:
    from vmrun.profile.paths import home_folder

    return home_folder() / f"{vm}.toml"


def _read(script: str) -> tuple[str, str]:
    if script == "-":
        return sys.stdin.read(), os.getcwd()
    try:
        data = Path(script).read_bytes()
    except OSError as e:
        raise ScriptError(f"cannot read: {e.strerror}", source=script) from None
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ScriptError("not a QEMU command line: not a text file", source=script) from None
    return text, os.path.dirname(os.path.abspath(script))


def _name(given: str | None, from_script: tuple[str, int] | None, output: str | None, script: str, source: str) -> str:
    if given is not None:
        candidates = [(given, None, "--name")]
    elif from_script is not None:
        candidates = [(from_script[0], from_script[1], "the script's -name")]
    elif output not in (None, "-"):
        candidates = [(Path(output).stem, None, "the output file's name")]  # type: ignore[arg-type]
    else:
        candidates = [(Path(script).stem if script != "-" else "", None, "the script's file name")]
    value, line, what = candidates[0]
    try:
        return fields.parse_name(value)
    except ValueError as e:
        raise ScriptError(
            f"{what}: {e}", source=source, line=line, hint="give the profile a name with --name"
        ) from None


def _check(toml: str, path: Path | None, vm: str, source: str) -> Profile:
    """Load what would be written exactly as `vmrun up` will, so a bad profile is never written."""
    from vmrun.profile.load import parse_profile

    try:
        return parse_profile(tomllib.loads(toml), str(path or f"{vm}.toml"), default_name=vm)
    except ProfileError as e:
        raise ScriptError(f"the profile it gives would not load: {e.field}: {e.reason}", source=source) from None
