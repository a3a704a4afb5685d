"""Every command's --help ends with at least one example, each on a line of its own (Click rewraps a
paragraph, so two examples in one paragraph used to run together on one line)."""

from __future__ import annotations

from typing import Any

import typer.main

from vmrun.cli import app


def _commands() -> list[tuple[str, Any]]:
    def walk(prefix: str, cmd: Any) -> list[tuple[str, Any]]:
        if hasattr(cmd, "commands"):  # a group (Typer's own copy of Click)
            return [pair for name, sub in cmd.commands.items() for pair in walk(f"{prefix} {name}".strip(), sub)]
        return [(prefix, cmd)]

    return walk("", typer.main.get_command(app))


def test_every_command_has_an_example_per_line() -> None:
    missing, squashed = [], []
    for name, cmd in _commands():
        with cmd.make_context(f"vmrun {name}", ["--help"], resilient_parsing=True) as ctx:
            text = cmd.get_help(ctx)
        examples = [line for line in text.splitlines() if "Example:" in line]
        if not examples:
            missing.append(name)
        squashed += [
            f"{name}: {line.strip()}"
            for line in examples
            if line.split("Example:")[1].split("(then:")[0].count(" vmrun ") > 1
        ]
    assert not missing, f"no Example: in --help of {missing}"
    assert not squashed, squashed
