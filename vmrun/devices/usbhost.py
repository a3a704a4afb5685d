"""Whether a ``[[usb]]`` device is plugged into this host now (sysfs), for `vmrun doctor`.

Not a refusal: QEMU's usb-host waits for a device that is not there (the guest sees it once it is
plugged in); libvirt looks it up at start and at attach, and refuses then.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmrun.profile.model import UsbDevice

DEVICES = Path("/sys/bus/usb/devices")


def absent(dev: UsbDevice, devices: Path = DEVICES) -> str | None:
    """Why ``dev`` is not on this host now; None when it is."""
    try:
        names = os.listdir(devices)
    except OSError:
        return f"this host has no USB bus ({devices} is missing)"
    if dev.host is not None:
        return None if dev.host in names else f"nothing is plugged at {dev.host}"
    for name in names:
        try:
            vendor = (devices / name / "idVendor").read_text().strip()
            product = (devices / name / "idProduct").read_text().strip()
        except OSError:
            continue
        if (vendor, product) == (dev.vendor, dev.product):
            return None
    return f"no {dev.what} is plugged into this host"
