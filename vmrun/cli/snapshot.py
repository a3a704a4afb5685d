"""`vmrun snapshot save|load|delete|list`: internal snapshots of a running VM."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    ConnectOpt,
    JsonOpt,
    VmName,
    app,
    command,
)

snapshot_app = typer.Typer(
    help="Internal snapshots of a running VM (disks, RAM and devices), kept in its qcow2 disks "
    "(over QMP; through libvirt's snapshot API for a VM libvirt runs).",
    no_args_is_help=True,
)
app.add_typer(snapshot_app, name="snapshot")
Tag = Annotated[str, typer.Argument(metavar="TAG", help="The snapshot's name.")]


def _tag(tag: str) -> str:
    from vmrun.errors import UsageError
    from vmrun.profile.fields import check_printable

    try:
        if not tag.strip():
            raise ValueError("is empty")
        return check_printable(tag)
    except ValueError as e:
        raise UsageError(str(e), option="TAG") from None


@command("save", group=snapshot_app)
def snapshot_save(
    name: VmName,
    tag: Tag,
    *,
    disk: Annotated[
        Optional[str],
        typer.Option("--disk", help="The drive that holds the RAM state (default: the first writable one)."),
    ] = None,
    connect: ConnectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save the running guest (disks, RAM, devices) as snapshot TAG; the guest pauses meanwhile.

    Every writable disk must be qcow2. Example: vmrun snapshot save demo before-upgrade
    """
    from vmrun.engines import find
    from vmrun.engines.qemu import snapshots

    vm = find(name, connect)
    snap = vm.snapshot_save(_tag(tag), vmstate=disk, waiting=ui.Spinner)
    if (state := vm.state()) is not None and state.snapshot:
        ui.notice(f"{name} runs with --snapshot: this snapshot is in its temporary overlay and goes when it powers off")
    if as_json:
        print(json.dumps(snap.as_json(), indent=2))
    else:
        state = f" (guest state {snapshots.size(snap.vm_state_size)})" if snap.vm_state_size is not None else ""
        print(f"{name}: saved snapshot {snap.tag} on {', '.join(snap.disks) or 'its disks'}{state}")


@command("load", group=snapshot_app)
def snapshotload(name: VmName, tag: Tag, *, connect: ConnectOpt = None) -> None:
    """Bring the running guest back to snapshot TAG (its disks, RAM and devices as they were).

    Example: vmrun snapshot load demo before-upgrade
    """
    from vmrun.engines import find

    find(name, connect).snapshot_load(_tag(tag), waiting=ui.Spinner)
    print(f"{name}: back at snapshot {tag}")


@command("delete", group=snapshot_app)
def snapshot_delete(name: VmName, tag: Tag, *, connect: ConnectOpt = None) -> None:
    """Delete snapshot TAG from the VM's disks.

    Example: vmrun snapshot delete demo before-upgrade
    """
    from vmrun.engines import find

    find(name, connect).snapshot_delete(_tag(tag), waiting=ui.Spinner)
    print(f"{name}: deleted snapshot {tag}")


@command("list", group=snapshot_app)
def snapshot_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The snapshots in the running VM's disks: tag, date, size of the saved guest state, the guest's clock.

    Example: vmrun snapshot list demo --json
    """
    from vmrun.engines import find
    from vmrun.engines.qemu import snapshots

    snaps = find(name, connect).snapshot_list()
    if as_json:
        print(json.dumps([s.as_json() for s in snaps], indent=2))
    elif snaps:
        print(snapshots.render(snaps))
    else:
        print(f"{name}: no snapshots")
