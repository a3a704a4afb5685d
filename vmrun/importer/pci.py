"""PCI slots as QEMU hands them out, so an import can pin what vmrun would otherwise move.

QEMU puts the VGA card and the ``-nic``/``-net nic`` NICs on the root bus at
machine init, then each ``-device`` in command-line order, then the disks of
``-drive if=virtio`` (whose devices it makes last). Each takes the slot it
names (``addr=``) or the lowest free one. vmrun gives its devices in its own
order (NICs first); where that moves a device, the import pins the script's
slot with ``addr``, so the guest's interface names (ens3...) stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Display devices that replace QEMU's default VGA card (vl.c's default_list).
VGA_DEVICES = {
    "VGA",
    "cirrus-vga",
    "qxl-vga",
    "virtio-vga",
    "virtio-vga-gl",
    "vmware-svga",
    "ati-vga",
    "vhost-user-vga",
    "isa-vga",
    "isa-cirrus-vga",
}
# Devices on the root PCI bus besides every *-pci one; virtio-X is virtio-X-pci on a PC.
_PCI = {
    "e1000",
    "e1000e",
    "e1000-82544gc",
    "e1000-82545em",
    "rtl8139",
    "ne2k_pci",
    "pcnet",
    "vmxnet3",
    "tulip",
    "i82550",
    "i82551",
    "i82557a",
    "i82557b",
    "i82557c",
    "i82558a",
    "i82558b",
    "i82559a",
    "i82559b",
    "i82559c",
    "i82559er",
    "i82562",
    "i82801",
    "VGA",
    "cirrus-vga",
    "qxl",
    "qxl-vga",
    "virtio-vga",
    "virtio-vga-gl",
    "vmware-svga",
    "bochs-display",
    "ati-vga",
    "secondary-vga",
    "qemu-xhci",
    "nec-usb-xhci",
    "usb-ehci",
    "ich9-usb-ehci1",
    "ich9-usb-ehci2",
    "ich9-usb-uhci1",
    "ich9-usb-uhci2",
    "ich9-usb-uhci3",
    "ich9-usb-uhci4",
    "ich9-usb-uhci5",
    "ich9-usb-uhci6",
    "piix3-usb-uhci",
    "piix4-usb-uhci",
    "pci-ohci",
    "intel-hda",
    "ich9-intel-hda",
    "AC97",
    "ES1370",
    "megasas",
    "megasas-gen2",
    "lsi53c895a",
    "lsi53c810",
    "mptsas1068",
    "pvscsi",
    "am53c974",
    "dc390",
    "nvme",
    "ich9-ahci",
    "ahci",
    "i6300esb",
    "pci-bridge",
    "pcie-pci-bridge",
    "pcie-root-port",
    "ioh3420",
    "x3130-upstream",
    "pxb",
    "pxb-pcie",
    "ivshmem-plain",
    "ivshmem-doorbell",
    "vfio-pci",
    "pci-testdev",
    "edu",
    "sdhci-pci",
    "virtio-net",
    "virtio-blk",
    "virtio-scsi",
    "virtio-serial",
    "virtio-balloon",
    "virtio-rng",
    "virtio-gpu",
    "virtio-9p",
    "virtio-keyboard",
    "virtio-mouse",
    "virtio-tablet",
    "virtio-input-host",
    "virtio-crypto",
    "virtio-iommu",
    "virtio-pmem",
    "vhost-vsock",
    "vhost-scsi",
    "vhost-user-fs",
    "virtio-sound",
}
_ROOT_BUSES = {"pci.0", "pcie.0"}
_ADDR = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,2})(?:\.(?:0x)?[0-7])?$")


@dataclass(frozen=True)
class Dev:
    key: str  # "nic:ID", "drive:N", "opt:INDEX": the same device on both sides
    addr: str | None = None  # the slot it names, if any


def is_root_pci(driver: str, bus: str | None) -> bool:
    if bus is not None and bus not in _ROOT_BUSES:
        return False
    return driver in _PCI or driver.endswith(("-pci", "-pci-non-transitional", "-pci-transitional"))


def slot_of(addr: str) -> int | None:
    m = _ADDR.match(addr)
    return int(m.group(1), 16) if m else None


def assign(q35: bool, builtin_vga: bool, usb: bool, order: list[Dev]) -> dict[str, int]:
    """The slot each device gets when QEMU makes them in ``order`` (after its own built-in ones)."""
    used = {0, 0x1F} if q35 else {0, 1}  # host bridge; ICH9's LPC/SATA/SMBus, or PIIX3's ISA/IDE/USB/ACPI
    if q35 and usb:
        used.add(0x1D)  # -usb on q35: ICH9's EHCI with its UHCI companions
    out: dict[str, int] = {}
    if builtin_vga:
        vga = min(set(range(32)) - used)
        used.add(vga)
        out["vga"] = vga
    for dev in order:
        slot = slot_of(dev.addr) if dev.addr else None
        if slot is None:
            free = sorted(set(range(32)) - used)
            if not free:
                continue  # QEMU would refuse: out of slots; nothing to keep
            slot = free[0]
        used.add(slot)
        out[dev.key] = slot
    return out


def addr_text(slot: int) -> str:
    return f"0x{slot:x}"


def wants_builtin_vga(vga: str | None, nodefaults: bool, devices: list[str]) -> bool:
    """Whether QEMU makes its own VGA card at machine init, on the root bus."""
    if vga is not None:
        return vga != "none"
    if nodefaults or any(d in VGA_DEVICES for d in devices):
        return False
    return True
