"""Checks across the keys of one table, run once each key has been read: one small function per section.

Each takes the table (for its errors, which name the file and the field at
fault) and the dataclass read from it, and returns that dataclass, completed
where the check fills something in (a network's bridge and DHCP range).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from vmrun.profile.model import (
    Audio,
    AudioBackend,
    BootDevice,
    CloudInit,
    Drive,
    Firmware,
    Network,
    Nic,
    NicType,
    Profile,
    Share,
    ShareType,
    UsbDevice,
)


def check_nic(t: Any, nic: Nic) -> Nic:
    if nic.type is NicType.TAP:
        t.require_one(
            "ifname",
            "script",
            what="a tap NIC names the tap (ifname) or the script QEMU gives the tap it makes",
            hint='ifname = "tap0" for a tap that exists; script = "/etc/qemu-ifup" for one QEMU makes',
        )
    return nic


def check_drive(t: Any, drive: Drive) -> Drive:
    if drive.cdrom:
        return _check_cdrom(t, drive)
    if drive.backing is not None and drive.format != "qcow2":  # absent, the format is qcow2 (keys.DRIVES)
        raise t.error(
            "format",
            f"{drive.format!r} cannot have a backing file: an overlay is qcow2",
            hint='write format = "qcow2" or leave it out',
        )
    if drive.addr is not None and drive.interface != "virtio":
        raise t.error("addr", f'a PCI slot is for an interface = "virtio" disk, not {drive.interface!r}')
    if drive.readonly and drive.made_by_vmrun:
        raise t.error("readonly", "a read-only drive cannot be made empty by vmrun (it has size or backing)")
    return drive


def _check_cdrom(t: Any, drive: Drive) -> Drive:
    """A CD-ROM is read-only, on a bus that has CD-ROMs (ide unless said), and not an image vmrun makes."""
    if "interface" not in t.data:
        drive = replace(drive, interface="ide")
    if drive.interface not in CDROM_BUSES:
        raise t.error("interface", f"a CD-ROM is on {', '.join(CDROM_BUSES)}, not {drive.interface!r}")
    for key in ("size", "backing", "snapshot"):
        if key in t.data:
            raise t.error(key, 'does not apply to a CD-ROM (media = "cdrom"): it is read-only')
    return replace(drive, readonly=True)


def check_network(t: Any, network: Network) -> Network:
    """Checked and completed as `vmrun net create` does it."""
    from vmrun.profile.network import SpecError, complete

    try:
        return complete(network)
    except SpecError as e:
        raise t.error(e.key, str(e)) from None


def check_cloud_init(t: Any, cloud: CloudInit) -> CloudInit:
    if cloud.user_data is not None:
        for key in ("user", "ssh_authorized_keys"):
            if key in t.data:
                raise t.error(
                    key,
                    "user_data replaces the generated user-data, so this would be ignored",
                    hint="write it into user_data, or drop user_data to have vmrun generate it",
                )
    if cloud.user and not cloud.ssh_authorized_keys:
        raise t.error("user", "has no ssh_authorized_keys: nobody could log in as it (its password is locked)")
    return cloud


CDROM_BUSES = ("ide", "sata", "scsi")
MAX_SATA = 6  # the ports of one AHCI controller
MAX_SERIALS = 3  # a PC has four ISA serial ports; ttyS0 is vmrun's console

# The disk interfaces vmrun gives a -device of their own (which a bootindex needs); see devices/boot.py.
BOOTINDEX_DISKS = ("virtio", "sata")

# What the guest's device can carry: virtio-fs's config tag is 36 bytes; QEMU 7.2 refuses a 9p tag over 31.
TAG_MAX = {ShareType.VIRTIOFS: 36, ShareType.NINEP: 31}


def check_share(t: Any, share: Share) -> Share:
    if len(share.tag.encode()) > TAG_MAX[share.type]:
        raise t.error(
            "tag",
            f"{share.tag!r} is {len(share.tag.encode())} bytes; a {share.type} tag holds at most {TAG_MAX[share.type]}",
        )
    return share


def check_usb(t: Any, usb: UsbDevice) -> UsbDevice:
    """By vendor and product, or by where it is plugged (host): one of the two, whole."""
    if usb.host is not None:
        for key in ("vendor", "product"):
            if key in t.data:
                raise t.error(key, "a USB device is named by host (BUS-PORT) or by vendor and product, not both")
        return usb
    t.require_one(
        "vendor",
        "product",
        "host",
        what="names no device",
        hint='vendor = "046d" and product = "c52b" (lsusb), or host = "1-2"',
    )
    t.require_one("product", what="a vendor needs its product", hint='product = "c52b" (lsusb shows VENDOR:PRODUCT)')
    t.require_one("vendor", what="a product needs its vendor", hint='vendor = "046d" (lsusb shows VENDOR:PRODUCT)')
    return usb


def check_profile(t: Any, profile: Profile) -> Profile:
    _unique_nics(t, profile.nics)
    for i, share in enumerate(profile.shares):
        if share.tag in [s.tag for s in profile.shares[:i]]:
            raise t.error(f"shares[{i}].tag", f"{share.tag!r} is already the tag of another share")
    _unique_devices(t, profile)
    _secure_boot(t, profile)
    _everyday(t, profile)
    _boot(t, profile)
    _serials(t, profile)
    sata = [i for i, d in enumerate(profile.drives) if d.interface == "sata"]
    if len(sata) > MAX_SATA:
        raise t.error(f"drives[{sata[MAX_SATA]}].interface", f"an AHCI controller has {MAX_SATA} ports")
    for i, net in enumerate(profile.networks):
        if net.name in [n.name for n in profile.networks[:i]]:
            raise t.error(f"networks[{i}].name", f"{net.name!r} is already the name of another network")
    return profile


def _secure_boot(t: Any, profile: Profile) -> None:
    if not profile.secure_boot:
        return
    if profile.firmware is not Firmware.UEFI:
        raise t.error("secure_boot", "Secure Boot is UEFI's: this profile boots BIOS", hint='add firmware = "uefi"')
    if not profile.q35:
        raise t.error(
            "secure_boot",
            f"Secure Boot needs the q35 machine (its SMM), not {profile.machine or 'pc'!r}",
            hint='write machine = "q35"',
        )


def _everyday(t: Any, profile: Profile) -> None:
    if profile.audio_backend is not AudioBackend.NONE and profile.audio is Audio.NONE:
        raise t.error("audio_backend", "there is no sound card to play through it", hint='add audio = "hda"')
    if profile.audio_backend is AudioBackend.SPICE and profile.spice is None:
        raise t.error("audio_backend", "spice sends the sound to a SPICE client: this profile has no [spice]")
    if profile.tablet and "usb=off" in (profile.machine or "").split(","):
        raise t.error(
            "tablet",
            f"the tablet sits on the machine's own USB, which machine = {profile.machine!r} turns off",
            hint="drop usb=off from machine",
        )


def _boot(t: Any, profile: Profile) -> None:
    """What a boot order can say: each kind once, not with a kernel booted directly, and under UEFI only
    where the device can carry a bootindex (OVMF ignores -boot order=)."""
    for i, what in enumerate(profile.boot):
        if what in profile.boot[:i]:
            raise t.error(f"boot[{i}]", f"{what} is already in the boot order")
    if profile.boot and profile.kernel:
        raise t.error("boot", "a kernel booted directly (kernel = ...) boots before any boot order", hint="drop boot")
    if profile.firmware is not Firmware.UEFI:
        return
    cdroms = [d for d in profile.drives if d.cdrom]
    if BootDevice.CDROM in profile.boot and not profile.cdrom and cdroms and cdroms[0].interface != "sata":
        raise t.error(
            "boot",
            f"under uefi the CD-ROM is ordered by a bootindex, which an interface = {cdroms[0].interface!r} "
            "CD-ROM (-drive if=) cannot carry",
            hint='give it interface = "sata", or use cdrom = "ISO"',
        )
    if BootDevice.DISK not in profile.boot:
        return
    disks = [d for d in profile.drives if not d.cdrom]
    if disks and disks[0].interface not in BOOTINDEX_DISKS:
        raise t.error(
            "boot",
            f"under uefi the disk is ordered by a bootindex, which an interface = {disks[0].interface!r} disk "
            "(-drive if=) cannot carry",
            hint=f"give the first disk interface = {' or '.join(f'{i!r}' for i in BOOTINDEX_DISKS)}",
        )


def _serials(t: Any, profile: Profile) -> None:
    if len(profile.serials) > MAX_SERIALS:
        raise t.error(
            f"serials[{MAX_SERIALS}]", f"a PC has {MAX_SERIALS + 1} serial ports and ttyS0 is vmrun's console"
        )
    ports = {int(profile.gdb.rpartition(":")[2]): "gdb"} if profile.gdb else {}
    for i, s in enumerate(profile.serials):
        if s.port is not None and s.port in ports:
            raise t.error(f"serials[{i}].port", f"{s.port} is already the port of {ports[s.port]}")
        if s.port is not None:
            ports[s.port] = f"serials[{i}]"


def _unique_nics(t: Any, nics: Sequence[Nic]) -> None:
    seen_ids: dict[str, int] = {}
    seen_macs: dict[str, int] = {}
    seen_ports: dict[tuple[str, int], str] = {}
    for i, nic in enumerate(nics):
        if nic.id in seen_ids:
            raise t.error(f"nics[{i}].id", f"{nic.id!r} is already the id of nics[{seen_ids[nic.id]}]")
        if nic.mac in seen_macs:
            raise t.error(f"nics[{i}].mac", f"{nic.mac} is already the MAC of nics[{seen_macs[nic.mac]}]")
        seen_ids[nic.id] = seen_macs[nic.mac] = i
        for j, fwd in enumerate(nic.hostfwd):
            key = (fwd.proto, fwd.host_port)
            if key in seen_ports:
                raise t.error(
                    f"nics[{i}].hostfwd[{j}]",
                    f"host port {fwd.proto}/{fwd.host_port} is already forwarded by {seen_ports[key]}",
                )
            seen_ports[key] = f"nics[{i}].hostfwd[{j}]"


def _unique_devices(t: Any, profile: Profile) -> None:
    """USB ids are QEMU device ids like the NICs': unique among both. A PCI function is passed once."""
    ids = {nic.id: f"nics[{i}]" for i, nic in enumerate(profile.nics)}
    for i, usb in enumerate(profile.usb):
        if usb.id in ids:
            raise t.error(f"usb[{i}].id", f"{usb.id!r} is already the id of {ids[usb.id]}")
        ids[usb.id] = f"usb[{i}]"
    hosts: dict[str, int] = {}
    for i, pci in enumerate(profile.pci):
        if pci.host in hosts:
            raise t.error(f"pci[{i}].host", f"{pci.host} is already passed by pci[{hosts[pci.host]}]")
        hosts[pci.host] = i


# Which check each section (keys.SECTIONS) gets after its keys are read; "" is the top level.
BY_SECTION: dict[str, Callable[[Any, Any], Any]] = {
    "": check_profile,
    "nics": check_nic,
    "drives": check_drive,
    "networks": check_network,
    "cloud_init": check_cloud_init,
    "shares": check_share,
    "usb": check_usb,
}
