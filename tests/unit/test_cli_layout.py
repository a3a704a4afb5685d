"""The command line is one module per command group, and a command imports only its own module."""

from __future__ import annotations

import subprocess
import sys

from vmrun import cli


def test_every_command_is_mapped_to_the_module_that_defines_it():
    app = cli.load_commands()
    defined = {
        (info.name or info.callback.__name__.replace("_", "-")): info.callback.__module__
        for info in app.registered_commands
    }
    for group in app.registered_groups:
        defined[group.name] = group.typer_instance.registered_commands[0].callback.__module__
    assert set(defined) == set(cli.COMMANDS)
    for name, module in defined.items():
        assert module == f"vmrun.cli.{cli.COMMANDS[name]}", name


def imported_by(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(' '.join(m for m in sys.modules if m.startswith('vmrun.cli.'))))\n"
        f"sys.argv = ['vmrun', *{list(argv)!r}]\n"
        "from vmrun.cli import main\n"
        "main()\n"
    )
    import os

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    ).stdout
    return set(out.strip().splitlines()[-1].split())


def test_a_command_imports_only_its_own_group():
    assert imported_by("fwd", "--help") == {"vmrun.cli.base", "vmrun.cli.fwd"}
    assert imported_by("up", "--help") == {"vmrun.cli.base", "vmrun.cli.lifecycle"}


def test_help_and_unknown_commands_see_every_command():
    everything = {"vmrun.cli.base", *(f"vmrun.cli.{m}" for m in cli.MODULES)}
    assert imported_by("--help") == everything
    assert imported_by("no-such-command") == everything


def test_completing_an_argument_imports_only_its_command():
    completing = {"_VMRUN_COMPLETE": "complete_bash", "COMP_WORDS": "vmrun up de", "COMP_CWORD": "2"}
    assert imported_by(env=completing) == {"vmrun.cli.base", "vmrun.cli.lifecycle"}
    naming = {**completing, "COMP_WORDS": "vmrun u", "COMP_CWORD": "1"}
    assert imported_by(env=naming) == {"vmrun.cli.base", *(f"vmrun.cli.{m}" for m in cli.MODULES)}
