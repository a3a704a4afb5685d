"""The clock and the tablet as vmrun gives them (`vmrun show`): ``-rtc base=localtime`` is ``rtc``,
``-usb -device usb-tablet,bus=usb-bus.0`` is ``tablet``.

Only these exact forms: where QEMU's meaning is the same wherever the option stands (a named bus,
the first USB device). Other ``-rtc`` and ``-device usb-tablet`` options stay as written; the removed
``-localtime`` and ``-usbdevice tablet`` are removed.py's.
"""

from __future__ import annotations

from vmrun.devices.everyday import MACHINE_USB_BUS
from vmrun.importer.options import Mapper, parse_opts
from vmrun.qemuopts import opts


def map_everyday(m: Mapper) -> None:
    _rtc(m)
    _tablet(m)


def _rtc(m: Mapper) -> None:
    clocks = m.named("-rtc")
    if "rtc" in m.profile or not clocks or clocks[0].text != "base=localtime":
        return  # (later -rtc options merge into the first: in extra_args they still come after it)
    m.take(clocks[0], "rtc")
    m.set("rtc", "localtime", clocks[0].value)
    m.note(clocks[0].line, f'{clocks[0]}: imported as rtc = "localtime"')


def _tablet(m: Mapper) -> None:
    if "tablet" in m.profile or "usb=off" in str(m.profile.get("machine", "")).split(","):
        return
    usb_devices = [o for o in m.named("-device") if (parse_opts(o.text, "driver")[0] or "").startswith("usb-")]
    usb_devices += m.named("-usbdevice")
    ours = opts("usb-tablet", [("bus", MACHINE_USB_BUS)])
    first = min(usb_devices, key=lambda o: o.index, default=None)
    if first is None or first.text != ours:
        return  # a USB device before it: the tablet's port is the script's order (vmrun gives its tablet first)
    tablet = first
    usb = [o for o in m.named("-usb") if o.index == tablet.index - 1]  # vmrun's own -usb, just before it
    if not usb:
        return
    m.take(usb[0], "tablet")
    m.take(tablet, "tablet")
    m.set("tablet", True, tablet.value)
    m.note(tablet.line, f"{tablet}: imported as tablet = true (a USB tablet on the machine's own USB)")
