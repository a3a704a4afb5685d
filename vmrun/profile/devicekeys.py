"""The profile keys of the VM's devices beyond disks and NICs: firmware, SPICE, TPM, ...

keys.py puts ``DEVICE_KEYS`` among its top-level keys, ``DEVICE_TABLES`` after its own
tables, and each of ``DEVICE_SECTIONS`` in ``SECTIONS``. A new device is a field in
model.py, its keys here, a pure argv part (vmrun/devices/), a domain-XML part
(vmrun/engines/libvirt/xml*.py) and, for a daemon, a managed helper like devices/tpm.py.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from vmrun.profile import fields, passthrough
from vmrun.profile.keyrec import Key, Section, Shown
from vmrun.profile.model import (
    Audio,
    AudioBackend,
    BootDevice,
    Firmware,
    PciDevice,
    Rtc,
    Serial,
    SerialType,
    Share,
    ShareType,
    Spice,
    Tpm,
    TpmVersion,
    UsbDevice,
)
from vmrun.profile.read import Choice, Context, Flag, Number, Path, Reader, Strings, Table, Tables, Text


def _boot_device(value: str) -> BootDevice:
    try:
        return BootDevice(value)
    except ValueError:
        raise ValueError(f"{value!r} is not cdrom, disk or network") from None


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _gdb(value: str | int) -> str:
    """``1234`` (on loopback), ``"1234"``, ``"ADDR:1234"`` or QEMU's ``"tcp:ADDR:1234"`` -> ``"ADDR:1234"``."""
    text = str(value).removeprefix("tcp:")
    addr, _, port = text.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not a TCP port or ADDR:PORT")
    return f"{_ipv4(addr) if addr else '127.0.0.1'}:{int(port)}"


class _Endpoint(Reader):
    """A TCP port (an integer: on loopback) or "ADDR:PORT"."""

    label = 'port or "ADDR:PORT"'

    def read(self, t: Any, key: str, ctx: Context) -> Any:
        return t.parsed(key, _gdb, (str, int))


DEVICE_KEYS = (
    Key(
        "firmware",
        Choice(Firmware),
        "bios, or uefi (OVMF from QEMU's firmware descriptors; the VM keeps its own NVRAM).",
        default=Firmware.BIOS,
    ),
    Key(
        "secure_boot",
        Flag(),
        "With uefi: Secure Boot on, the descriptor's keys enrolled; needs q35.",
        default=False,
    ),
    Key(
        "audio",
        Choice(Audio),
        "A sound card: hda (Intel HD Audio, duplex codec), ac97, or none.",
        default=Audio.NONE,
    ),
    Key(
        "audio_backend",
        Choice(AudioBackend),
        "Where its sound goes on the host (-audiodev): none (nowhere), pa, alsa, oss, jack, sdl, spice "
        "(the SPICE client), wav (NAME.wav in the profile's folder).",
        default=AudioBackend.NONE,
    ),
    Key(
        "tablet",
        Flag(),
        "A USB tablet on the machine's own USB: the pointer follows the host's without grabbing it.",
        default=False,
    ),
    Key(
        "rtc",
        Choice(Rtc),
        "The guest's clock: utc (Linux) or localtime (Windows).",
        default=Rtc.UTC,
    ),
    Key(
        "boot",
        Strings(_boot_device),
        'Boot order, e.g. ["cdrom", "disk", "network"]: the first CD-ROM, the first disk, the first NIC '
        "(under uefi as bootindex, which OVMF follows).",
        default=(),
    ),
    Key("boot_menu", Flag(), "Show the firmware's boot menu (-boot menu=on).", default=False),
    Key(
        "gdb",
        _Endpoint(),
        'QEMU\'s gdb stub: a TCP port on 127.0.0.1 (gdb: target remote :PORT), or "ADDR:PORT" to listen elsewhere.',
    ),
    Key(
        "agent",
        Flag(),
        "A port for the QEMU guest agent (vmrun exec, cp, ip, ssh), placed after every pinned device.",
        default=True,
    ),
)

# Each a section below; they come after nics (their defaults may need the VM's name).
DEVICE_TABLES = (
    Key("spice", Table("spice"), "A SPICE server for the screen ([spice] table)."),
    Key("tpm", Table("tpm"), "A TPM for the guest ([tpm] table; an empty one gives TPM 2.0)."),
    Key("shares", Tables("shares"), "Host folders the guest mounts by tag ([[shares]] tables)."),
    Key("usb", Tables("usb"), "Host USB devices passed to the guest ([[usb]] tables), on an xhci controller."),
    Key("pci", Tables("pci"), "Host PCI functions passed to the guest through VFIO ([[pci]] tables)."),
    Key("serials", Tables("serials"), "More serial ports, ttyS1 to ttyS3 ([[serials]] tables; ttyS0 is the console)."),
)

SPICE = Section(
    "spice",
    Spice,
    (
        Key("port", Number(), "TCP port of the SPICE server.", required=True),
        Key(
            "addr", Text(), "Address it listens on; anything but loopback should have a password.", default="127.0.0.1"
        ),
        Key("ticketing", Flag(), "Require a password (false: anyone reaching the port gets the screen).", default=True),
        Key("password", Text(), "The password (passed to QEMU in a 0600 file, never on its command line)."),
        Key("vdagent", Flag(), "Add the SPICE agent channel (clipboard, resolution).", default=False),
    ),
)

TPM = Section(
    "tpm",
    Tpm,
    (
        Key(
            "version",
            Choice(TpmVersion),
            "2.0 or 1.2: the TPM swtpm emulates; its state is kept in the VM's data folder.",
            default=TpmVersion.V2,
        ),
    ),
)


def _tag(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError("a tag is one word: the guest mounts it by this name (mount -t virtiofs TAG DIR)")
    return value


SHARES = Section(
    "shares",
    Share,
    (
        Key("source", Path(), "The host folder; relative to the profile's folder.", required=True),
        Key("tag", Text(_tag), "The name the guest mounts it by (virtiofs: 36 bytes at most, 9p: 31).", required=True),
        Key(
            "type",
            Choice(ShareType),
            "virtiofs (a virtiofsd per share, the VM's memory shared with it) or 9p (QEMU's own server).",
            default=ShareType.VIRTIOFS,
        ),
        Key("readonly", Flag(), "The guest cannot write (virtiofs: through a read-only bind mount).", default=False),
    ),
)


def _usb_n(ctx: Context, _: dict[str, Any]) -> str:
    return f"usb{ctx.index}"


USB = Section(
    "usb",
    UsbDevice,
    (
        Key(
            "vendor",
            Text(passthrough.parse_usb_id),
            'Vendor id, 4 hex digits as lsusb shows them, e.g. "046d" (with product).',
        ),
        Key("product", Text(passthrough.parse_usb_id), 'Product id, e.g. "c52b" (with vendor).'),
        Key(
            "host",
            Text(passthrough.parse_bus_port),
            'Instead of vendor and product: whatever is plugged at "BUS-PORT", e.g. "1-2.3" (qemu engine only).',
        ),
        Key(
            "id",
            Text(fields.parse_id),
            "The device's id (QEMU's; unique among NICs and USB devices).",
            default=Shown("usb0, usb1, ... by position", _usb_n),
            option="--id",
        ),
    ),
)

PCI = Section(
    "pci",
    PciDevice,
    (
        Key(
            "host",
            Text(passthrough.parse_pci_host),
            'The host PCI function, "0000:01:00.0" (lspci -D). qemu engine: its IOMMU group must be bound to '
            "vfio-pci first (doctor says how); libvirt rebinds it itself (managed).",
            required=True,
        ),
        Key("options", Text(fields.parse_vfio_options), 'More -device vfio-pci options, verbatim, e.g. "x-vga=on".'),
    ),
)

S = SerialType
SERIALS = Section(
    "serials",
    Serial,
    (
        Key("type", Choice(SerialType), "What the port is on the host (the tables below).", required=True),
        Key("port", Number(), "The TCP port it listens on.", only=(S.TCP, S.TELNET), required=True),
        Key(
            "addr",
            Text(_ipv4),
            "The address it listens on: anyone who reaches it has the guest's port.",
            default="127.0.0.1",
            only=(S.TCP, S.TELNET),
        ),
        Key(
            "path",
            Path(),
            "The socket it listens on (required under libvirt).",
            default=Shown("serialN.sock in the VM's run folder (N: the ttyS number)"),
            only=(S.UNIX,),
        ),
        Key("path", Path(), "The file the guest's output is written to.", only=(S.FILE,), required=True),
    ),
    variant="type",
    noun="a serial port of type",
)

DEVICE_SECTIONS = (SPICE, TPM, SHARES, USB, PCI, SERIALS)
