"""`vmrun usb add|del|list`: host USB devices hot-plugged into a running VM."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import ConnectOpt, JsonOpt, VmName, app, command

usb_app = typer.Typer(help="Pass host USB devices to a running VM (and take them out again).", no_args_is_help=True)
app.add_typer(usb_app, name="usb")


@command("add", group=usb_app)
def usb_add(
    name: VmName,
    device: Annotated[
        str,
        typer.Argument(
            metavar="VENDOR:PRODUCT|BUS-PORT",
            help="The host device as lsusb shows it (046d:c52b), or where it is plugged (1-2.3; qemu engine only).",
        ),
    ],
    *,
    usb_id: Annotated[
        Optional[str], typer.Option("--id", help="Its id (default: next free usbN; unique among NICs and USB).")
    ] = None,
    connect: ConnectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hot-plug a host USB device into a running VM (and an xhci controller first if it has none);
    every step is undone if a later one fails.

    Example: vmrun usb add jrgtest 046d:c52b --id receiver
    """
    from vmrun.engines import find

    dev = find(name, connect).usb_add(device, usb_id)
    if as_json:
        print(json.dumps({"id": dev.id, "device": dev.what, "hotplugged": True}, indent=2))
    else:
        print(f"{name}: added {dev.id} (USB {dev.what})")


@command("del", group=usb_app)
def usb_del(
    name: VmName,
    usb_id: Annotated[str, typer.Argument(metavar="ID", help="The device's id (see vmrun usb list).")],
    *,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the device to go.")] = 30.0,
    connect: ConnectOpt = None,
) -> None:
    """Unplug a USB device from a running VM.

    Example: vmrun usb del jrgtest receiver
    """
    from vmrun.engines import find

    find(name, connect).usb_del(usb_id, timeout=timeout)
    print(f"{name}: removed {usb_id}")


@command("list", group=usb_app)
def usb_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The host USB devices the running VM has (asked of QEMU, or of libvirt's domain), with their origin.

    Example: vmrun usb list jrgtest --json
    """
    from vmrun.engines import find

    devices = find(name, connect).usb_list()
    if as_json:
        print(json.dumps(devices, indent=2))
        return
    rows = [[d["id"], d["device"], "yes" if d["attached"] else "no (waits for it)", d["origin"]] for d in devices]
    print(ui.table(["ID", "DEVICE", "ATTACHED", "ORIGIN"], rows))
