"""Under --json, an error is one JSON object on stdout (`error`, `hint`, `exit`) with the same exit status."""

from __future__ import annotations

import json
import os
import subprocess
import typing

import pytest

from tests.conftest import vmrun_bin
from vmrun import cli


def _commands():
    """Every (command path, callback) of the CLI, sub-groups included."""
    for info in cli.app.registered_commands:
        yield (info.name or info.callback.__name__.replace("_", "-"),), info.callback
    for group in cli.app.registered_groups:
        for info in group.typer_instance.registered_commands:
            yield (group.name, info.name or info.callback.__name__.replace("_", "-")), info.callback


def _decls(option) -> tuple:
    """An Option's names; in Annotated form Typer keeps the first one as its ``default`` until it builds the command."""
    first = getattr(option, "default", None)
    return (*(getattr(option, "param_decls", None) or ()), *((first,) if isinstance(first, str) else ()))


def _json_commands():
    found = []
    for path, callback in _commands():
        for name, hint in typing.get_type_hints(callback, include_extras=True).items():
            if any("--json" in _decls(m) for m in getattr(hint, "__metadata__", ())):
                found.append((path, name))
    return found


def test_the_boundary_sees_every_json_option():
    """The one error boundary knows a command's --json by its parameter name, so every one must be `as_json`."""
    found = _json_commands()
    assert len(found) >= 10
    assert [p for p, name in found if name != "as_json"] == []


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(tmp_path / "run"), "XDG_CONFIG_HOME": str(tmp_path / "config")}

    def vmrun(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([vmrun_bin(), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    return vmrun


def error_of(r: subprocess.CompletedProcess[str]) -> dict:
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    error = json.loads(lines[0])
    assert set(error) == {"error", "hint", "exit"} and error["exit"] == r.returncode and r.stderr == ""
    return error


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["show", "nosuch", "--json"], 2, "no profile named 'nosuch'"),
        (["show", "nosuch", "--running", "--json"], 2, "nosuch: not running"),
        (["up", "nosuch", "--json"], 2, "no profile named"),
        (["nic", "list", "nosuch", "--json"], 2, "nosuch: not running"),
        (["new", "../x", "--json"], 2, "not a usable name"),
        (["clone", "nosuch", "b", "--json"], 2, "no profile named"),
        (["help", "nosuch", "--json"], 2, "no help topic"),
        (["doctor", "nosuch", "--json"], 2, "no profile named"),
        (["ps", "--json", "--no-such-option"], 2, "No such option: --no-such-option"),
    ],
)
def test_errors_are_json_with_the_same_exit(run, args, code, text):
    r = run(*args)
    assert r.returncode == code
    error = error_of(r)
    assert text in error["error"]


def test_a_runtime_failure_keeps_exit_1(run, tmp_path):
    folder = tmp_path / "run" / "x"  # a run folder whose state.json is not vmrun's
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(folder.parent, 0o700)
    (folder / "state.json").write_text("[1, 2]")
    r = run("nic", "list", "x", "--json")
    assert r.returncode == 1 and "state.json" in error_of(r)["error"]


def test_without_json_the_error_stays_one_line_on_stderr(run):
    r = run("show", "nosuch")
    assert r.returncode == 2 and r.stdout == "" and r.stderr.startswith("vmrun: error: no profile named 'nosuch'")


def test_usage_error_hint_names_the_command(run):
    assert error_of(run("ps", "--json", "--bogus"))["hint"] == "vmrun ps --help"
