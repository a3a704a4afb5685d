"""The `vmrun` command line: thin Typer commands, one module per command group, one error boundary.

``base`` holds the app and the boundary; each group module registers its commands on import.
:func:`main` imports only the module of the command asked for (``COMMANDS``), so `vmrun up`
pays neither for the other commands' imports nor for Typer inspecting their signatures.
``vmrun.cli.app`` (for tests and completion) is the app with every command.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
from typing import Any

# Command or group name -> the module that defines it, in the order `vmrun --help` lists them.
COMMANDS = {
    **dict.fromkeys(["show", "up", "down", "ps", "doctor", "gc", "migrate", "autostart"], "lifecycle"),
    **dict.fromkeys(["console", "qmp", "log", "viewer"], "guest"),
    **dict.fromkeys(["exec", "cp", "ip", "ssh", "ssh-config"], "inside"),
    "nic": "nic",
    "usb": "usb",
    "fwd": "fwd",
    "snapshot": "snapshot",
    "net": "net",
    "image": "image",
    **dict.fromkeys(["import", "unit"], "tools"),
    **dict.fromkeys(["new", "help", "profiles", "edit", "clone"], "profiles"),
}
MODULES = list(dict.fromkeys(COMMANDS.values()))


def load_commands(asked: str | None = None) -> Any:
    """The app with the command ``asked`` for (its module only, that command only), or with every command."""
    from vmrun.cli.base import app

    module = COMMANDS.get(asked or "")
    for name in [module] if module else MODULES:
        importlib.import_module(f"vmrun.cli.{name}")
    if module:
        _only(app, asked)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return load_commands()
    raise AttributeError(name)


def main() -> None:
    try:
        _run()
    finally:
        # Exiting, the interpreter collects garbage over every object the imports made, about 10 ms
        # of a `vmrun up`, to find next to nothing: frozen, they are left to the end of the process.
        # (Python never promised to finalize what still exists at exit; atexit handlers still run.)
        gc.freeze()


def _run() -> None:
    # Importing Typer and the command's module makes tens of thousands of objects that live until
    # exit: collecting while they are made (~3 ms of every command) finds nothing to free. Frozen
    # once made, later collections (a long `up --foreground`, `console`) pass them over too.
    gc.disable()
    try:
        import typer

        from vmrun import signals

        signals.install()
        app = load_commands(_asked(sys.argv[1:]))
    finally:
        gc.freeze()
        gc.enable()
    if "--json" not in sys.argv[1:]:
        app(prog_name="vmrun")
        return
    try:  # a command line Click refuses before any command runs is an error under --json too
        code = app(prog_name="vmrun", standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:
        # Click's UsageError; Typer vendors Click (typer._click) or not depending on its version: duck-typed.
        if not (hasattr(e, "format_message") and isinstance(getattr(e, "exit_code", None), int)):
            raise
        asked = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        hint = f"vmrun {asked} --help".replace("  ", " ")
        print(json.dumps({"error": e.format_message(), "hint": hint, "exit": e.exit_code}))
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _asked(args: list[str]) -> str | None:
    """The command asked for: the first word that is not an option; while the shell completes
    (``_VMRUN_COMPLETE``), the first such word before the one being completed (``COMP_WORDS``)."""
    import os

    if "_VMRUN_COMPLETE" in os.environ and not args:
        words = os.environ.get("COMP_WORDS", "").split()
        try:
            args = words[1 : int(os.environ.get("COMP_CWORD", "0"))]
        except ValueError:
            args = []
    return next((a for a in args if not a.startswith("-")), None)


def _only(app: Any, asked: str | None) -> None:
    """Typer inspects every command's signature at each start (~0.5 ms each): keep only the one asked for."""

    def name(info: Any) -> str:
        return info.name or info.callback.__name__.replace("_", "-")

    commands = [c for c in app.registered_commands if name(c) == asked]
    groups = [g for g in app.registered_groups if g.name == asked]
    if commands or groups:
        app.registered_commands, app.registered_groups = commands, groups
