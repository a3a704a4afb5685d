"""Parsers for the values of ``[[usb]]`` and ``[[pci]]`` (host devices passed to the guest); each raises
ValueError with a message fit for a user, as profile/fields.py's do."""

from __future__ import annotations

import re

_HEX_ID = re.compile(r"^(?:0x)?([0-9a-fA-F]{4})$")
# sysfs's name of a USB device by where it is plugged: bus, then the port on each hub from the root (1-2.3).
_BUS_PORT = re.compile(r"^(\d{1,3})-(\d{1,3}(?:\.\d{1,3}){0,6})$")
_PCI = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")


def parse_usb_id(value: str) -> str:
    """A USB vendor or product id: 4 hex digits as lsusb shows them (``046d``; ``0x046d`` too), lower case."""
    m = _HEX_ID.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a USB id: 4 hex digits as lsusb shows them, e.g. 046d")
    return m.group(1).lower()


def parse_bus_port(value: str) -> str:
    """``BUS-PORT`` (``1-2.3``: bus 1, port 3 of the hub on port 2), as /sys/bus/usb/devices names it."""
    m = _BUS_PORT.match(value)
    if not m or not 1 <= int(m.group(1)) <= 255 or any(not 1 <= int(p) <= 255 for p in m.group(2).split(".")):
        raise ValueError(
            f"{value!r} is not a USB bus and port: write BUS-PORT as /sys/bus/usb/devices names it, e.g. 1-2 or 3-1.4"
        )
    return f"{int(m.group(1))}-{'.'.join(str(int(p)) for p in m.group(2).split('.'))}"


def split_bus_port(host: str) -> tuple[int, str]:
    """``1-2.3`` -> (1, "2.3"): QEMU's hostbus and hostport."""
    bus, _, port = host.partition("-")
    return int(bus), port


def parse_usb_device(text: str) -> dict[str, str]:
    """What `vmrun usb add` is given: ``VENDOR:PRODUCT`` or ``BUS-PORT``, as [[usb]] keys."""
    vendor, colon, product = text.partition(":")
    if colon:
        return {"vendor": vendor, "product": product}
    if "-" in text:
        return {"host": text}
    raise ValueError(f"{text!r} is neither VENDOR:PRODUCT (e.g. 046d:c52b, as lsusb shows) nor BUS-PORT (e.g. 1-2)")


def parse_pci_host(value: str) -> str:
    """A host PCI function, ``0000:01:00.0`` (lspci -D) or ``01:00.0``; written back with its domain, lower case."""
    m = _PCI.match(value.strip())
    if not m or int(m.group(3), 16) > 0x1F:
        raise ValueError(
            f"{value!r} is not a PCI address: write DOMAIN:BUS:SLOT.FUNCTION as lspci -D shows it, e.g. 0000:01:00.0"
        )
    domain, bus, slot, function = m.groups()
    return f"{(domain or '0000').lower()}:{bus.lower()}:{slot.lower()}.{function}"
