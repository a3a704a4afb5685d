"""The domain XML's host devices: ``[[usb]]`` and ``[[pci]]`` as <hostdev>, and the xhci controller the
USB ones sit on (a part of :class:`vmrun.engines.libvirt.xml._Build`, and the <hostdev> `usb add` attaches).

libvirt looks a USB device up on its host when the domain starts and when one is attached, and
refuses if it is not there (QEMU's usb-host would wait for it). It names a USB device by vendor
and product, or by bus and *device number*, which changes at every replug: a ``host = "BUS-PORT"``
has no libvirt form, and is not supported on this engine. A PCI hostdev is ``managed='yes'``:
libvirt unbinds the function from its driver and binds it to vfio-pci itself when the domain
starts (and back when it ends), where the qemu engine wants it bound beforehand (devices/pci.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from vmrun.engines.base import not_supported
from vmrun.engines.libvirt.xmlbase import alias_ok, sub
from vmrun.errors import NotSupported, ProfileError
from vmrun.profile.model import PciDevice, UsbDevice

XHCI = "qemu-xhci"


def host_port_refused(vm_name: str, where: str) -> NotSupported:
    return not_supported(
        vm_name,
        f"a USB device by host port ({where})",
        "libvirt",
        hint="name it by vendor and product (lsusb: VENDOR:PRODUCT): libvirt knows a bus and a device number, "
        "which changes at every replug, not a port",
    )


def alias_problem(dev: UsbDevice) -> str | None:
    if alias_ok(dev.id):
        return None
    return f"{dev.id!r}: libvirt aliases take letters, digits, '_' and '-' only"


def usb_hostdev(parent: ET.Element | None, dev: UsbDevice, *, bus: int | None = None) -> ET.Element:
    """``<hostdev type='usb'>`` by vendor and product, aliased ``ua-ID`` (`usb del` detaches it by that alias)."""
    attrs = {"mode": "subsystem", "type": "usb", "managed": "yes"}
    hostdev = ET.Element("hostdev", attrs) if parent is None else sub(parent, "hostdev", **attrs)
    source = sub(hostdev, "source")
    sub(source, "vendor", id=f"0x{dev.vendor}")
    sub(source, "product", id=f"0x{dev.product}")
    sub(hostdev, "alias", name=f"ua-{dev.id}")
    if bus is not None:
        sub(hostdev, "address", type="usb", bus=bus)
    return hostdev


def pci_hostdev(parent: ET.Element, dev: PciDevice) -> ET.Element:
    domain, bus, slot_function = dev.host.split(":")
    slot, function = slot_function.split(".")
    hostdev = sub(parent, "hostdev", mode="subsystem", type="pci", managed="yes")
    source = sub(hostdev, "source")
    sub(source, "address", domain=f"0x{domain}", bus=f"0x{bus}", slot=f"0x{slot}", function=f"0x{function}")
    return hostdev


class UsbXml:
    p: Any
    q35: bool

    def usb_index(self, machine_usb: bool) -> int:
        """The index of vmrun's xhci: 0, or 1 after the machine's own USB controller (``usb=on``, the tablet's)."""
        return 1 if machine_usb or self.p.tablet else 0

    def usb_controllers(self, devices: ET.Element, machine_usb: bool) -> None:
        """vmrun's QEMU has no USB unless the profile asks: the machine's own (``usb=on``, or for the tablet),
        an xhci for [[usb]].

        The tablet's controller is named, as QEMU's ``-usb`` makes it, so that libvirt's default (an xhci,
        a PCIe device on q35) does not take a spare root port: ICH9's EHCI sits on pcie.0 at 0x1d."""
        if self.p.tablet and not machine_usb:
            sub(devices, "controller", type="usb", index=0, model="ich9-ehci1" if self.q35 else "piix3-uhci")
        if self.p.usb:
            sub(devices, "controller", type="usb", index=self.usb_index(machine_usb), model=XHCI)
        elif not machine_usb and not self.p.tablet:
            sub(devices, "controller", type="usb", model="none")

    def hostdevs(self, devices: ET.Element, machine_usb: bool) -> None:
        for i, dev in enumerate(self.p.usb):
            if dev.host is not None:
                raise host_port_refused(self.p.name, f"usb[{i}].host")
            if problem := alias_problem(dev):
                raise ProfileError(problem, source=self.p.source, field=f"usb[{i}].id")
            usb_hostdev(devices, dev, bus=self.usb_index(machine_usb))
        for i, dev in enumerate(self.p.pci):
            if dev.options:
                raise ProfileError(
                    f"{dev.options!r}: libvirt's <hostdev> has no place for QEMU's own vfio-pci options",
                    source=self.p.source,
                    field=f"pci[{i}].options",
                    hint='drop options, or run with engine = "qemu"',
                )
            pci_hostdev(devices, dev)

    def usb_metadata(self, vm: ET.Element) -> None:
        for dev in self.p.usb:
            sub(vm, "vmrun:usb", id=dev.id, vendor=dev.vendor, product=dev.product)
