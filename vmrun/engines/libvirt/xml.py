"""Domain XML: a pure function of the profile, as :mod:`vmrun.argv` is for QEMU's command line.

No I/O and no libvirt here: the accelerator is already chosen, the emulator's
path already found, and the target's libvirt version says which elements exist.
What libvirt cannot say is refused in one line naming the field; what it says
only approximately comes back as a warning. virt-manager's virtinst
(``virtinst/devices/interface.py``) is the reference for which ``<interface>``
forms exist. The output is deterministic (fixed attribute and element order,
indented), so every shipped profile has a golden file in tests/data/libvirt/.

vmrun marks its domains with ``<metadata><vmrun:vm>`` (profile path, NICs,
forwards); :func:`read_metadata` reads it back from whatever libvirt returns.

One domain is built by ``_Build``; each kind of device is a part of it in a module of its own
(``xmldisks``, ``xmlnics``, ``xmlfirmware``, ``xmltpm``, ``xmlshares``, ``xmlusb``, ``xmleveryday``, ``xmlagent``; what they share is in ``xmlbase``), as a new device
kind will be.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field

from vmrun.argv import is_q35
from vmrun.engines.libvirt.xmlagent import AgentXml
from vmrun.engines.libvirt.xmlbase import (  # CARRIED, PASST_SINCE, VMRUN_NS: also asked of this module
    CARRIED,
    CARRIED_SLOTS,
    DEFAULT_LIBVIRT,
    ONOFF,
    PASST_SINCE,
    QEMU_NS,
    VIDEO,
    VMRUN_NS,
    sub,
)
from vmrun.engines.libvirt.xmldisks import DiskXml
from vmrun.engines.libvirt.xmleveryday import EverydayXml
from vmrun.engines.libvirt.xmlfirmware import FirmwareXml
from vmrun.engines.libvirt.xmlnics import NicXml
from vmrun.engines.libvirt.xmlshares import ShareXml
from vmrun.engines.libvirt.xmltpm import TpmXml
from vmrun.engines.libvirt.xmlusb import UsbXml
from vmrun.errors import ProfileError
from vmrun.net.base import nic_field
from vmrun.profile.model import Accel, BootDevice, Nic, NicType, Profile

__all__ = [
    "CARRIED",
    "DEFAULT_LIBVIRT",
    "PASST_SINCE",
    "VMRUN_NS",
    "DomainXml",
    "domain_xml",
    "interface_xml",
    "read_metadata",
]


BOOT_DEV = {BootDevice.CDROM: "cdrom", BootDevice.DISK: "hd", BootDevice.NETWORK: "network"}


@dataclass(frozen=True)
class DomainXml:
    xml: str
    warnings: tuple[str, ...]


def domain_xml(
    profile: Profile,
    *,
    accel: Accel,
    emulator: str,
    libvirt_version: int = DEFAULT_LIBVIRT,
    userspace_ovs: frozenset[str] = frozenset(),
    seed: str | None = None,
) -> DomainXml:
    """The libvirt domain of ``profile``; ``accel`` is KVM or TCG (already chosen), ``emulator`` QEMU's path there.

    ``userspace_ovs``: the OVS bridges known to be on the userspace (netdev) datapath there; their
    virtio NICs get no checksum offload (see ``_Build.interface``). ``seed``: the cloud-init seed ISO
    (:mod:`.seed`; for `show`, where it would be), attached as a read-only CD-ROM.
    """
    if accel is Accel.AUTO:
        raise ValueError("domain_xml needs the accelerator already chosen (KVM or TCG)")
    build = _Build(profile, libvirt_version, userspace_ovs)
    build.seed = seed
    root = build.domain(accel, emulator)
    ET.indent(root, "  ")
    return DomainXml(ET.tostring(root, encoding="unicode") + "\n", tuple(build.warnings))


def interface_xml(
    profile: Profile, nic: Nic, *, libvirt_version: int = DEFAULT_LIBVIRT, userspace_ovs: frozenset[str] = frozenset()
) -> DomainXml:
    """One NIC as a libvirt ``<interface>`` (for attachDeviceFlags); a user NIC's forwards are not in it
    below libvirt 9.2: add them live with ``hostfwd_add hostua-ID ...`` through the monitor."""
    build = _Build(profile, libvirt_version, userspace_ovs)
    iface = build.interface(nic, nic_field(profile, nic), hotplug=True)
    ET.indent(iface, "  ")
    return DomainXml(ET.tostring(iface, encoding="unicode") + "\n", tuple(build.warnings))


def read_metadata(xml: str) -> dict | None:
    """``{"profile": PATH, "nics": [{id, type, model, mac, ...}], "forwards": [{nic, rule}], "usb": [{id, vendor,
    product, ...}]}``; None if not vmrun's."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    vm = root.find(f"metadata/{{{VMRUN_NS}}}vm")
    if vm is None:
        return None
    profile = vm.find(f"{{{VMRUN_NS}}}profile")
    return {
        "profile": profile.get("path", "") if profile is not None else "",
        "nics": [dict(e.attrib) for e in vm.findall(f"{{{VMRUN_NS}}}nic")],
        "forwards": [dict(e.attrib) for e in vm.findall(f"{{{VMRUN_NS}}}forward")],
        "usb": [dict(e.attrib) for e in vm.findall(f"{{{VMRUN_NS}}}usb")],
    }


@dataclass
class _Machine:
    """``machine = "q35,vmport=off"``: the type, and the options libvirt has elements for."""

    type: str | None = None
    usb: bool = False
    features: list[tuple[str, str]] = field(default_factory=list)  # (vmport|smm, on|off)
    dump_core: str | None = None
    nosharepages: bool = False


class _Build(DiskXml, NicXml, FirmwareXml, TpmXml, ShareXml, UsbXml, EverydayXml, AgentXml):
    """One domain being built: its warnings, its <qemu:commandline> arguments, the slots left for carried NICs."""

    def __init__(self, profile: Profile, libvirt_version: int, userspace_ovs: frozenset[str] = frozenset()) -> None:
        self.p = profile
        self.seed: str | None = None  # the cloud-init seed's path (domain_xml's ``seed``)
        self.version = libvirt_version
        self.userspace_ovs = userspace_ovs
        self.q35 = is_q35(profile)
        self.warnings: list[str] = []
        self.qemu_args: list[str] = []
        self.slots: Iterator[int] = iter(CARRIED_SLOTS[self.q35])
        self.carried: set[str] = set()  # ids of the NICs in <qemu:commandline>

    def refuse(self, where: str, message: str, hint: str | None = None) -> ProfileError:
        return ProfileError(message, source=self.p.source, field=where, hint=hint)

    def domain(self, accel: Accel, emulator: str) -> ET.Element:
        p = self.p
        machine = self.machine()
        root = ET.Element("domain", {"type": "kvm" if accel is Accel.KVM else "qemu"})
        sub(root, "name", p.name)
        self.uuid(root)
        if p.process:
            self.warnings.append(f'process = "{p.process}" is not carried: libvirt names the process itself')
        metadata = sub(root, "metadata")
        sub(root, "memory", str(p.memory_mib), unit="MiB", dumpCore=machine.dump_core)
        if machine.nosharepages:
            sub(sub(root, "memoryBacking"), "nosharepages")
        self.share_memory(root)
        sub(root, "vcpu", str(p.smp))
        self.boot(sub(root, "os"), machine)
        features = sub(root, "features")
        # Without ACPI a pc machine refuses PCI hot-plug: "Bus 'pci.0' does not support hotplugging".
        sub(features, "acpi")
        sub(features, "apic")
        for name, state in self.firmware_features(machine.features):
            sub(features, name, state=state)
        self.cpu(root, accel)
        self.clock(root)
        self.gdb()
        reboot = self.extra_args()
        sub(root, "on_poweroff", "destroy")
        sub(root, "on_reboot", reboot)
        sub(root, "on_crash", "destroy")
        devices = sub(root, "devices")
        sub(devices, "emulator", emulator)
        self.disks(devices)
        self.controllers(devices, machine)
        for nic in p.nics:
            iface = self.interface(nic, nic_field(p, nic))
            if iface is not None:
                devices.append(iface)
        self.consoles(devices)
        self.tablet(devices)
        self.agent(devices)  # after the NICs: its slot is the next one a carried NIC did not take
        self.tpm(devices)
        self.filesystems(devices)
        self.hostdevs(devices, machine.usb)
        self.graphics(devices)
        self.sound(devices)
        sub(devices, "memballoon", model="none")  # vmrun's QEMU has no balloon either
        self.metadata(metadata)
        if self.qemu_args:
            root.set("xmlns:qemu", QEMU_NS)
            commandline = sub(root, "qemu:commandline")
            for arg in self.qemu_args:
                sub(commandline, "qemu:arg", value=arg)
        return root

    # -- machine, boot, cpu ---------------------------------------------------------------------

    def machine(self) -> _Machine:
        if not self.p.machine:
            return _Machine()
        head, *pairs = self.p.machine.split(",")
        m = _Machine(type=head)
        for pair in pairs:
            key, _, value = pair.partition("=")
            state = ONOFF.get(value.lower())
            if key == "usb" and state:
                m.usb = state == "on"
            elif key in ("vmport", "smm") and (state or value == "auto"):
                if state:
                    m.features.append((key, state))
            elif key == "dump-guest-core" and state:
                m.dump_core = state
            elif key == "mem-merge" and state:
                m.nosharepages = state == "off"
            elif key == "accel":
                raise self.refuse(
                    "machine",
                    f"{pair!r}: the accelerator is the profile's `accel` key on libvirt",
                    hint=f'write accel = "{value}" and machine = "{head}"',
                )
            else:
                raise self.refuse(
                    "machine",
                    f"{pair!r} has no libvirt equivalent (usb, vmport, smm, dump-guest-core and mem-merge do)",
                    hint="remove it, or pass -machine in extra_args",
                )
        return m

    def boot(self, os_el: ET.Element, machine: _Machine) -> None:
        p = self.p
        sub(os_el, "type", "hvm", arch="x86_64", machine=machine.type)
        self.firmware(os_el)
        if p.kernel:
            sub(os_el, "kernel", p.kernel)
        if p.initrd:
            sub(os_el, "initrd", p.initrd)
        if p.append:
            sub(os_el, "cmdline", p.append)
        if p.boot:
            # libvirt gives the first device of each kind its bootindex itself, so this holds under UEFI too.
            for what in p.boot:
                sub(os_el, "boot", dev=BOOT_DEV[what])
        elif not p.kernel:
            # QEMU's own order is disk, then CD-ROM; libvirt boots only what <boot> lists.
            if p.drives:
                sub(os_el, "boot", dev="hd")
            if p.cdrom:
                sub(os_el, "boot", dev="cdrom")
        if p.boot_menu:
            sub(os_el, "bootmenu", enable="yes")

    def cpu(self, root: ET.Element, accel: Accel) -> None:
        if not self.p.cpu:
            return
        model, *flags = self.p.cpu.split(",")
        for flag in flags:
            if "=" in flag:
                raise self.refuse(
                    "cpu",
                    f"{flag!r}: libvirt sets CPU features on or off, not to values",
                    hint="write +FEATURE or -FEATURE, or pass -cpu in extra_args",
                )
        if model == "host":
            if accel is not Accel.KVM:
                raise self.refuse("cpu", 'cpu = "host" needs KVM; this domain runs under TCG', hint='use cpu = "max"')
            cpu = sub(root, "cpu", mode="host-passthrough")
        elif model == "max":
            cpu = sub(root, "cpu", mode="maximum")
        else:
            cpu = sub(root, "cpu", mode="custom", match="exact")
            sub(cpu, "model", model, fallback="allow")
        for flag in flags:
            policy = "disable" if flag.startswith("-") else "require"
            sub(cpu, "feature", policy=policy, name=flag.lstrip("+-"))

    def extra_args(self) -> str:
        """``-no-reboot`` is <on_reboot>destroy</on_reboot>; the rest goes to <qemu:commandline> as is."""
        if self.p.bus_devices:
            raise self.refuse(
                "bus_devices",
                "libvirt places its own ports and bridges; a device of <qemu:commandline> would come after the NICs",
                hint='drop bus_devices and bus= from the NICs\' device_options, or run with engine = "qemu"',
            )
        reboot = "restart"
        passed = []
        for arg in self.p.extra_args:
            if arg == "-no-reboot":
                reboot = "destroy"
            else:
                passed.append(arg)
        if passed:
            self.warnings.append(
                "extra_args are passed in <qemu:commandline>: libvirt marks the domain tainted (custom-argv)"
            )
            self.qemu_args += passed
        return reboot

    # -- disks ------------------------------------------------------------------------------------

    def controllers(self, devices: ET.Element, machine: _Machine) -> None:
        if any(d.interface == "scsi" for d in self.p.drives):
            sub(devices, "controller", type="scsi", index=0, model="lsilogic")  # what QEMU's if=scsi gives
        self.usb_controllers(devices, machine.usb)
        if self.q35:
            # q35's root bus takes no hot-plug: spare root ports for `vmrun nic add`, as the QEMU engine gives.
            # Index 0 is pcie-root; libvirt numbers the ports it adds itself after these.
            for index in range(1, self.spare_ports() + 1):
                sub(devices, "controller", type="pci", index=index, model="pcie-root-port")

    def spare_ports(self) -> int:
        """``hotplug_slots`` ports left free once libvirt has placed its own devices.

        libvirt fills the declared ports first, one PCIe endpoint each. Conventional PCI devices
        (e1000, the LSI SCSI card) go behind a pcie-to-pci-bridge, and libvirt adds a port along
        with that bridge: they cost no spare port (measured with libvirt 9.0, see the root test).
        """
        p = self.p
        endpoints = sum(1 for d in p.drives if d.interface == "virtio")
        for nic in p.nics:
            libvirt_places = not (nic.type is NicType.USER and self.needs_commandline(nic))  # else on pcie.0
            if libvirt_places and (nic.model.startswith("virtio") or nic.model == "e1000e"):
                endpoints += 1
        if p.spice and p.spice.vdagent:
            endpoints += 1  # the virtio-serial controller
        endpoints += len(p.shares)  # vhost-user-fs-pci, virtio-9p-pci
        endpoints += (1 if p.usb else 0) + len(p.pci)  # vmrun's qemu-xhci, each passed-through function
        return p.hotplug_slots + endpoints

    # -- NICs -------------------------------------------------------------------------------------

    def consoles(self, devices: ET.Element) -> None:
        # `vmrun console` goes through libvirt's console API, which wants the first serial port on a pty.
        serial = sub(devices, "serial", type="pty")
        sub(serial, "target", port=0)
        console = sub(devices, "console", type="pty")
        sub(console, "target", type="serial", port=0)
        self.serials(devices)
        s = self.p.spice
        if s and s.vdagent:
            channel = sub(devices, "channel", type="spicevmc")
            sub(channel, "target", type="virtio", name="com.redhat.spice.0")

    def graphics(self, devices: ET.Element) -> None:
        p, s = self.p, self.p.spice
        display = p.display.split(",")[0]
        if s is not None:
            passwd = None
            if s.ticketing and s.password is not None:
                passwd = s.password
                self.warnings.append(
                    "spice.password is in the domain XML: libvirt clients with full access can read it"
                )
            elif s.ticketing:
                self.warnings.append(
                    "spice.ticketing without spice.password: libvirt turns ticketing off "
                    "(unless its qemu.conf sets spice_password)"
                )
            graphics = sub(devices, "graphics", type="spice", port=s.port, autoport="no", passwd=passwd)
            sub(graphics, "listen", type="address", address=s.addr)
        elif display == "vnc":
            graphics = sub(devices, "graphics", type="vnc", port=-1, autoport="yes")
            sub(graphics, "listen", type="address", address="127.0.0.1")
        elif display != "none":
            self.warnings.append(
                f'display = "{p.display}" is not carried: a libvirt domain has no local window '
                "(libvirt chooses its own display)"
            )
        vga = p.vga or "std"  # QEMU's default card, there even with -display none
        if vga not in VIDEO:
            raise self.refuse("vga", f"{vga!r} has no libvirt video model", hint=f"use one of {', '.join(VIDEO)}")
        sub(sub(devices, "video"), "model", type=VIDEO[vga])

    # -- vmrun's own metadata ---------------------------------------------------------------------

    def metadata(self, metadata: ET.Element) -> None:
        vm = sub(metadata, "vmrun:vm", **{"xmlns:vmrun": VMRUN_NS})
        sub(vm, "vmrun:profile", path=os.path.abspath(self.p.source))
        for nic in self.p.nics:
            sub(
                vm,
                "vmrun:nic",
                id=nic.id,
                type=nic.type.value,
                model=nic.model,
                mac=nic.mac,
                carried=CARRIED if nic.id in self.carried else None,
            )
        for nic, fwd in self.p.forwards:
            sub(vm, "vmrun:forward", nic=nic.id, rule=str(fwd))
        self.usb_metadata(vm)
