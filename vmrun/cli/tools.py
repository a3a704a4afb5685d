"""Commands that turn a VM into other files: import (a start.sh into a profile), unit (a systemd service)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    Name,
    command,
    load,
)


@command(name="import")
def import_(
    script: Annotated[str, typer.Argument(help="A start.sh, or a file holding a bare QEMU command line ('-': stdin).")],
    args: Annotated[
        Optional[list[str]], typer.Argument(help='After --: what the script would be run with ($1, "$@").')
    ] = None,
    *,
    name: Annotated[Optional[str], typer.Option("--name", help="Profile name (default: the script's -name).")] = None,
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output",
            "-o",
            help="Where to write it (default: NAME.toml where `vmrun up NAME` finds it, "
            "$XDG_CONFIG_HOME/vmrun/profiles); '-' prints it.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")] = False,
    sets: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="KEY=VALUE into the profile; fills a value the script computes (-m $(...)).",
            metavar="KEY=VALUE",
        ),
    ] = None,
    variables: Annotated[
        Optional[list[str]],
        typer.Option(
            "--var",
            help="NAME=VALUE: a shell variable the script does not set itself (a file it sources that is not read).",
            metavar="NAME=VALUE",
        ),
    ] = None,
) -> None:
    """Turn a start.sh (a QEMU command line) into a profile, and say on stderr what did not fit.

    ${1:-8}-style parameters become the profile's values; the script's own arguments
    ($1, "$@") are given after --; what vmrun has no key for goes to extra_args;
    commented-out options are listed, not imported.

    Example: vmrun import start.sh --name jrgtest -- disk.qcow2 4G   (then: vmrun show jrgtest)
    """
    from vmrun.importer import import_script

    imported = import_script(
        script, name=name, output=output, force=force, args=args or None, sets=sets or [], variables=variables or []
    )
    for note in imported.notes:
        ui.notice(note)
    if imported.path is None:
        print(imported.text, end="")
    else:
        print(f"wrote {imported.path} (see it with: vmrun show {imported.shown_as})")


@command()
def unit(
    name: Name,
    *,
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Write it where systemd looks (/etc/systemd/system for root, ~/.config/systemd/user otherwise).",
        ),
    ] = False,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write it to FILE instead of printing it.")
    ] = None,
    timeout: Annotated[int, typer.Option(help="Seconds `vmrun down` gives the guest to power off on stop.")] = 60,
) -> None:
    """A systemd service that starts the VM at boot and powers it off on stop (no libvirt, no resident vmrun).

    Example: vmrun unit jrgtest --install   (then: systemctl daemon-reload && systemctl enable vmrun-jrgtest.service)
    """
    from pathlib import Path

    from vmrun import unit as units

    profile = load(name, None, None, None)
    spec = units.spec_for(profile, timeout=timeout)
    text = units.render(spec)
    if not install and output is None:
        print(text, end="")
        return
    path = Path(output) if output is not None else units.install_path(profile.name, user=spec.user)
    units.write(path, text)
    print(f"wrote {path}")
    if install:
        print(f"  then: {units.enable_hint(profile.name, user=spec.user)}")
