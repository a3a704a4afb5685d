"""``[[usb]]``: host USB devices on an xhci controller of vmrun's own, as argv (at `up`) and as QMP
``device_add`` arguments (`vmrun usb add`). Pure: no I/O.

The controller is ``qemu-xhci`` with the id ``vmrun-xhci``, and every device vmrun passes sits on its
bus (``vmrun-xhci.0``), so the machine's own USB (``machine = "pc,usb=on"``, a tablet) stays as it
was. A VM started without ``[[usb]]`` has no such controller: `usb add` hot-plugs one first.

QEMU's ``usb-host`` for a device that is not (yet) plugged into the host is still accepted: it
waits, and the guest sees the device once it appears (``attached`` in QOM says whether it has).
"""

from __future__ import annotations

from typing import Any

from vmrun.profile.model import Profile, UsbDevice
from vmrun.profile.passthrough import split_bus_port
from vmrun.qemuopts import opts

XHCI_ID = "vmrun-xhci"
XHCI_MODEL = "qemu-xhci"
XHCI_BUS = f"{XHCI_ID}.0"


def host_properties(dev: UsbDevice) -> list[tuple[str, Any]]:
    """usb-host's match: vendorid/productid (QEMU reads 0x-hex), or hostbus/hostport."""
    if dev.host is not None:
        bus, port = split_bus_port(dev.host)
        return [("hostbus", bus), ("hostport", port)]
    return [("vendorid", f"0x{dev.vendor}"), ("productid", f"0x{dev.product}")]


def usb_args(p: Profile) -> list[str]:
    if not p.usb:
        return []
    argv = ["-device", opts(XHCI_MODEL, [("id", XHCI_ID)])]
    for dev in p.usb:
        argv += ["-device", opts("usb-host", [("bus", XHCI_BUS), *host_properties(dev), ("id", dev.id)])]
    return argv


def controller_device(bus: str | None) -> dict[str, Any]:
    """QMP device_add arguments of the controller; ``bus``: a free PCIe root port on q35 (None: the root bus)."""
    return {"driver": XHCI_MODEL, "id": XHCI_ID, **({"bus": bus} if bus else {})}


def host_device(dev: UsbDevice) -> dict[str, Any]:
    """QMP device_add arguments of one usb-host (numbers as QMP takes them: vendorid is an integer there)."""
    args: dict[str, Any] = {"driver": "usb-host", "id": dev.id, "bus": XHCI_BUS}
    for key, value in host_properties(dev):
        args[key] = int(value, 16) if key in ("vendorid", "productid") else value
    return args
