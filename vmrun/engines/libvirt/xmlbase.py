"""What every part of the domain XML shares: namespaces, libvirt versions, the names libvirt gives QEMU's values,
and the element helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vmrun.profile.model import NicType

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
VMRUN_NS = "https://vmrun.invalid/xmlns/domain/1"
DEFAULT_LIBVIRT = 9_000_000  # Debian 12
PASST_SINCE = 9_002_000  # <backend type='passt'/> and <portForward> in the QEMU driver
CARRIED = "qemu-commandline"  # a NIC libvirt does not know: QEMU gets it through <qemu:commandline>

VIDEO = {"std": "vga", "cirrus": "cirrus", "vmware": "vmvga", "qxl": "qxl", "virtio": "virtio", "none": "none"}
NIC_MODEL = {"virtio-net-pci": "virtio", "virtio-net": "virtio"}
INTERFACE_TYPE = {
    NicType.USER: "user",
    NicType.PASST: "user",
    NicType.BRIDGE: "bridge",
    NicType.OVS: "bridge",
    NicType.MACVTAP: "direct",
    NicType.NETWORK: "network",
    NicType.TAP: "ethernet",
}
FORMATS = {"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vpc", "bochs", "cloop", "dmg", "luks"}
AIO = {"threads", "native", "io_uring"}
CACHE = {"none", "writeback", "writethrough", "directsync", "unsafe"}
ONOFF = {"on": "on", "off": "off", "yes": "on", "no": "off", "true": "on", "false": "off"}
# Where a NIC carried in <qemu:commandline> sits: slots libvirt never picks by itself. It fills
# pci.0 from slot 3 upwards on pc; on q35 it puts its root ports from pcie.0 slot 2 upwards and
# keeps 0x1d (ICH9 USB), 0x1e (DMI-to-PCI bridge) and 0x1f (LPC, SATA, SMBus) for itself.
CARRIED_SLOTS = {False: range(0x1F, 0x0F, -1), True: range(0x1C, 0x0F, -1)}


def pci_address(parent: ET.Element, addr: str) -> ET.Element:
    """A pinned PCI slot (``0x5``, ``05.1``) as libvirt's <address>, on the root bus."""
    slot, _, function = addr.partition(".")
    return sub(
        parent,
        "address",
        type="pci",
        domain="0x0000",
        bus="0x00",
        slot=f"0x{int(slot, 16):02x}",
        function=f"0x{int(function or '0', 16):x}",
    )


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    """A child with attributes in the order given; None values are left out."""
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def alias_ok(nic_id: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "_-") for c in nic_id)


def letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa: libvirt's disk target names."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def version_text(v: int) -> str:
    return f"{v // 1_000_000}.{v // 1000 % 1000}"
