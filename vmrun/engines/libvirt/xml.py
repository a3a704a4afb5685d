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
"""

from __future__ import annotations

import ipaddress
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field

from vmrun.argv import is_q35
from vmrun.net.base import nic_field
from vmrun.errors import ProfileError
from vmrun.profile.model import Accel, Drive, Nic, NicType, Profile, Vhost, Via
from vmrun.qemuopts import opts

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
VMRUN_NS = "https://vmrun.invalid/xmlns/domain/1"
DEFAULT_LIBVIRT = 9_000_000  # Debian 12
PASST_SINCE = 9_002_000  # <backend type='passt'/> and <portForward> in the QEMU driver
CARRIED = "qemu-commandline"  # a NIC libvirt does not know: QEMU gets it through <qemu:commandline>

_VIDEO = {"std": "vga", "cirrus": "cirrus", "vmware": "vmvga", "qxl": "qxl", "virtio": "virtio", "none": "none"}
_NIC_MODEL = {"virtio-net-pci": "virtio", "virtio-net": "virtio"}
_INTERFACE_TYPE = {NicType.USER: "user", NicType.PASST: "user", NicType.BRIDGE: "bridge", NicType.OVS: "bridge",
                   NicType.MACVTAP: "direct", NicType.NETWORK: "network", NicType.TAP: "ethernet"}  # fmt: skip
_FORMATS = {"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vpc", "bochs", "cloop", "dmg", "luks"}
_AIO = {"threads", "native", "io_uring"}
_CACHE = {"none", "writeback", "writethrough", "directsync", "unsafe"}
_ONOFF = {"on": "on", "off": "off", "yes": "on", "no": "off", "true": "on", "false": "off"}
# Where a NIC carried in <qemu:commandline> sits: slots libvirt never picks by itself. It fills
# pci.0 from slot 3 upwards on pc; on q35 it puts its root ports from pcie.0 slot 2 upwards and
# keeps 0x1d (ICH9 USB), 0x1e (DMI-to-PCI bridge) and 0x1f (LPC, SATA, SMBus) for itself.
_CARRIED_SLOTS = {False: range(0x1F, 0x0F, -1), True: range(0x1C, 0x0F, -1)}


@dataclass(frozen=True)
class DomainXml:
    xml: str
    warnings: tuple[str, ...]


def domain_xml(profile: Profile, *, accel: Accel, emulator: str, libvirt_version: int = DEFAULT_LIBVIRT,
               userspace_ovs: frozenset[str] = frozenset()) -> DomainXml:
    """The libvirt domain of ``profile``; ``accel`` is KVM or TCG (already chosen), ``emulator`` QEMU's path there.

    ``userspace_ovs``: the OVS bridges known to be on the userspace (netdev) datapath there; their
    virtio NICs get no checksum offload (see ``_Build.interface``).
    """
    if accel is Accel.AUTO:
        raise ValueError("domain_xml needs the accelerator already chosen (KVM or TCG)")
    build = _Build(profile, libvirt_version, userspace_ovs)
    root = build.domain(accel, emulator)
    ET.indent(root, "  ")
    return DomainXml(ET.tostring(root, encoding="unicode") + "\n", tuple(build.warnings))


def interface_xml(profile: Profile, nic: Nic, *, libvirt_version: int = DEFAULT_LIBVIRT,
                  userspace_ovs: frozenset[str] = frozenset()) -> DomainXml:
    """One NIC as a libvirt ``<interface>`` (for attachDeviceFlags); a user NIC's forwards are not in it
    below libvirt 9.2: add them live with ``hostfwd_add hostua-ID ...`` through the monitor."""
    build = _Build(profile, libvirt_version, userspace_ovs)
    iface = build.interface(nic, nic_field(profile, nic), hotplug=True)
    ET.indent(iface, "  ")
    return DomainXml(ET.tostring(iface, encoding="unicode") + "\n", tuple(build.warnings))


def read_metadata(xml: str) -> dict | None:
    """``{"profile": PATH, "nics": [{id, type, model, mac, ...}], "forwards": [{nic, rule}]}``; None if not vmrun's."""
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
    }


def pci_address(parent: ET.Element, addr: str) -> ET.Element:
    """A pinned PCI slot (``0x5``, ``05.1``) as libvirt's <address>, on the root bus."""
    slot, _, function = addr.partition(".")
    return _sub(parent, "address", type="pci", domain="0x0000", bus="0x00", slot=f"0x{int(slot, 16):02x}",
                function=f"0x{int(function or '0', 16):x}")  # fmt: skip


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    """A child with attributes in the order given; None values are left out."""
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


@dataclass
class _Machine:
    """``machine = "q35,vmport=off"``: the type, and the options libvirt has elements for."""

    type: str | None = None
    usb: bool = False
    features: list[tuple[str, str]] = field(default_factory=list)  # (vmport|smm, on|off)
    dump_core: str | None = None
    nosharepages: bool = False


class _Build:
    """One domain being built: its warnings, its <qemu:commandline> arguments, the slots left for carried NICs."""

    def __init__(self, profile: Profile, libvirt_version: int, userspace_ovs: frozenset[str] = frozenset()) -> None:
        self.p = profile
        self.version = libvirt_version
        self.userspace_ovs = userspace_ovs
        self.q35 = is_q35(profile)
        self.warnings: list[str] = []
        self.qemu_args: list[str] = []
        self.slots: Iterator[int] = iter(_CARRIED_SLOTS[self.q35])
        self.carried: set[str] = set()  # ids of the NICs in <qemu:commandline>

    def refuse(self, where: str, message: str, hint: str | None = None) -> ProfileError:
        return ProfileError(message, source=self.p.source, field=where, hint=hint)

    def domain(self, accel: Accel, emulator: str) -> ET.Element:
        p = self.p
        machine = self.machine()
        root = ET.Element("domain", {"type": "kvm" if accel is Accel.KVM else "qemu"})
        _sub(root, "name", p.name)
        if p.process:
            self.warnings.append(f'process = "{p.process}" is not carried: libvirt names the process itself')
        if p.cloud_init:
            self.warnings.append("cloud_init is not carried: `up` under libvirt refuses it (the seed would be on its host)")
        metadata = _sub(root, "metadata")
        _sub(root, "memory", str(p.memory_mib), unit="MiB", dumpCore=machine.dump_core)
        if machine.nosharepages:
            _sub(_sub(root, "memoryBacking"), "nosharepages")
        _sub(root, "vcpu", str(p.smp))
        self.boot(_sub(root, "os"), machine)
        features = _sub(root, "features")
        # Without ACPI a pc machine refuses PCI hot-plug: "Bus 'pci.0' does not support hotplugging".
        _sub(features, "acpi")
        _sub(features, "apic")
        for name, state in machine.features:
            _sub(features, name, state=state)
        self.cpu(root, accel)
        reboot = self.extra_args()
        _sub(root, "on_poweroff", "destroy")
        _sub(root, "on_reboot", reboot)
        _sub(root, "on_crash", "destroy")
        devices = _sub(root, "devices")
        _sub(devices, "emulator", emulator)
        self.disks(devices)
        self.controllers(devices, machine)
        for nic in p.nics:
            iface = self.interface(nic, nic_field(p, nic))
            if iface is not None:
                devices.append(iface)
        self.consoles(devices)
        self.graphics(devices)
        _sub(devices, "memballoon", model="none")  # vmrun's QEMU has no balloon either
        self.metadata(metadata)
        if self.qemu_args:
            root.set("xmlns:qemu", QEMU_NS)
            commandline = _sub(root, "qemu:commandline")
            for arg in self.qemu_args:
                _sub(commandline, "qemu:arg", value=arg)
        return root

    # -- machine, boot, cpu ---------------------------------------------------------------------

    def machine(self) -> _Machine:
        if not self.p.machine:
            return _Machine()
        head, *pairs = self.p.machine.split(",")
        m = _Machine(type=head)
        for pair in pairs:
            key, _, value = pair.partition("=")
            state = _ONOFF.get(value.lower())
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
                raise self.refuse("machine", f"{pair!r}: the accelerator is the profile's `accel` key on libvirt",
                                  hint=f'write accel = "{value}" and machine = "{head}"')  # fmt: skip
            else:
                raise self.refuse("machine", f"{pair!r} has no libvirt equivalent (usb, vmport, smm, "
                                  "dump-guest-core and mem-merge do)",
                                  hint="remove it, or pass -machine in extra_args")  # fmt: skip
        return m

    def boot(self, os_el: ET.Element, machine: _Machine) -> None:
        p = self.p
        _sub(os_el, "type", "hvm", arch="x86_64", machine=machine.type)
        if p.kernel:
            _sub(os_el, "kernel", p.kernel)
        if p.initrd:
            _sub(os_el, "initrd", p.initrd)
        if p.append:
            _sub(os_el, "cmdline", p.append)
        if not p.kernel:
            # QEMU's own order is disk, then CD-ROM; libvirt boots only what <boot> lists.
            if p.drives:
                _sub(os_el, "boot", dev="hd")
            if p.cdrom:
                _sub(os_el, "boot", dev="cdrom")

    def cpu(self, root: ET.Element, accel: Accel) -> None:
        if not self.p.cpu:
            return
        model, *flags = self.p.cpu.split(",")
        for flag in flags:
            if "=" in flag:
                raise self.refuse("cpu", f"{flag!r}: libvirt sets CPU features on or off, not to values",
                                  hint="write +FEATURE or -FEATURE, or pass -cpu in extra_args")  # fmt: skip
        if model == "host":
            if accel is not Accel.KVM:
                raise self.refuse("cpu", 'cpu = "host" needs KVM; this domain runs under TCG', hint='use cpu = "max"')
            cpu = _sub(root, "cpu", mode="host-passthrough")
        elif model == "max":
            cpu = _sub(root, "cpu", mode="maximum")
        else:
            cpu = _sub(root, "cpu", mode="custom", match="exact")
            _sub(cpu, "model", model, fallback="allow")
        for flag in flags:
            policy = "disable" if flag.startswith("-") else "require"
            _sub(cpu, "feature", policy=policy, name=flag.lstrip("+-"))

    def extra_args(self) -> str:
        """``-no-reboot`` is <on_reboot>destroy</on_reboot>; the rest goes to <qemu:commandline> as is."""
        reboot = "restart"
        passed = []
        for arg in self.p.extra_args:
            if arg == "-no-reboot":
                reboot = "destroy"
            else:
                passed.append(arg)
        if passed:
            self.warnings.append("extra_args are passed in <qemu:commandline>: "
                                 "libvirt marks the domain tainted (custom-argv)")
            self.qemu_args += passed
        return reboot

    # -- disks ------------------------------------------------------------------------------------

    def disks(self, devices: ET.Element) -> None:
        used: dict[str, int] = {}

        def target(prefix: str) -> str:
            n = used.get(prefix, 0)
            used[prefix] = n + 1
            return prefix + _letters(n)

        for i, d in enumerate(self.p.drives):
            bus, prefix, device = self.bus(d, f"drives[{i}].interface")
            disk = _sub(devices, "disk", type="block" if d.file.startswith("/dev/") else "file", device=device)
            _sub(disk, "driver", name="qemu", type=self.format(d, i), io=self.choice(d.aio, _AIO, f"drives[{i}].aio"),
                 cache=self.choice(d.cache, _CACHE, f"drives[{i}].cache"))  # fmt: skip
            if d.file.startswith("/dev/"):
                _sub(disk, "source", dev=d.file)
            else:
                _sub(disk, "source", file=d.file)
            _sub(disk, "target", dev=target(prefix), bus=bus)
            if d.addr is not None:
                pci_address(disk, d.addr)
            if d.readonly:
                _sub(disk, "readonly")
            elif d.snapshot:
                # snapshot=on: writes go to a throw-away overlay; libvirt's <transient/> is that overlay.
                _sub(disk, "transient")
        if self.p.cdrom:
            bus, prefix = ("sata", "sd") if self.q35 else ("ide", "hd")
            disk = _sub(devices, "disk", type="file", device="cdrom")
            _sub(disk, "driver", name="qemu", type="raw")
            _sub(disk, "source", file=self.p.cdrom)
            # -cdrom's place, IDE index 2 (hdc, or sdc on q35's AHCI), unless disks already took it.
            dev = prefix + "c" if used.get(prefix, 0) <= 2 else target(prefix)
            _sub(disk, "target", dev=dev, bus=bus)
            _sub(disk, "readonly")

    def bus(self, d: Drive, where: str) -> tuple[str, str, str]:
        """(bus, target prefix, device) for QEMU's ``if=``; IDE on q35 is its AHCI, as QEMU does it."""
        if d.interface == "ide":
            return ("sata", "sd", "disk") if self.q35 else ("ide", "hd", "disk")
        buses = {"virtio": ("virtio", "vd", "disk"), "scsi": ("scsi", "sd", "disk"), "sata": ("sata", "sd", "disk"),
                 "floppy": ("fdc", "fd", "floppy")}  # fmt: skip
        if d.interface not in buses:
            raise self.refuse(where, f"{d.interface!r} has no libvirt disk bus", hint="use virtio, ide, sata or scsi")
        return buses[d.interface]

    def format(self, d: Drive, i: int) -> str | None:
        if d.format is None:
            if d.file.endswith(".qcow2"):
                return "qcow2"  # what QEMU's probe finds, and libvirt does not probe
            self.warnings.append(f"drives[{i}].format is unset: libvirt does not probe images and reads it as raw")
            return None
        return self.choice(d.format, _FORMATS, f"drives[{i}].format")

    def choice(self, value: str | None, known: set[str], where: str) -> str | None:
        if value is not None and value not in known:
            raise self.refuse(where, f"{value!r} has no libvirt equivalent",
                              hint=f"use one of {', '.join(sorted(known))}")
        return value

    # -- controllers ------------------------------------------------------------------------------

    def controllers(self, devices: ET.Element, machine: _Machine) -> None:
        if any(d.interface == "scsi" for d in self.p.drives):
            _sub(devices, "controller", type="scsi", index=0, model="lsilogic")  # what QEMU's if=scsi gives
        if not machine.usb:
            _sub(devices, "controller", type="usb", model="none")  # vmrun's QEMU has no USB either
        if self.q35:
            # q35's root bus takes no hot-plug: spare root ports for `vmrun nic add`, as the QEMU engine gives.
            # Index 0 is pcie-root; libvirt numbers the ports it adds itself after these.
            for index in range(1, self.spare_ports() + 1):
                _sub(devices, "controller", type="pci", index=index, model="pcie-root-port")

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
        return p.hotplug_slots + endpoints

    # -- NICs -------------------------------------------------------------------------------------

    def interface(self, nic: Nic, where: str, *, hotplug: bool = False) -> ET.Element | None:
        """The NIC's <interface>, or None when it is carried in <qemu:commandline> instead.

        ``hotplug``: for attachDeviceFlags, where a user NIC is plain slirp (vmrun adds its forwards live).
        """
        if not _alias_ok(nic.id):
            raise self.refuse(f"{where}.id", f"{nic.id!r}: libvirt aliases take letters, digits, '_' and '-' only",
                              hint="rename the NIC")  # fmt: skip
        t = nic.type
        if t is NicType.PASST and self.version < PASST_SINCE:
            raise self.refuse(f"{where}.type", f"passt needs libvirt 9.2 or later (the target has "
                              f"{_version(self.version)})", hint='use type = "user", whose forwards vmrun carries '
                              "for libvirt 9.0")  # fmt: skip
        if t is NicType.NETDEV:
            raise self.refuse(f"{where}.type", f"a -netdev {nic.backend} has no libvirt interface vmrun writes",
                              hint='run this profile with engine = "qemu"')  # fmt: skip
        if t is NicType.TAP and nic.script is not None:
            raise self.refuse(f"{where}.script", "libvirt makes its taps itself and runs no QEMU ifup script",
                              hint='name an existing tap with ifname = ..., or use type = "bridge"')  # fmt: skip
        if t is NicType.USER and not hotplug and self.needs_commandline(nic):
            self.carry(nic, where)
            return None
        # A user NIC is QEMU's slirp unless libvirt (>= 9.2) can run passt for its forwards.
        slirp = t is NicType.USER and (not nic.hostfwd or self.needs_commandline(nic))
        if hotplug and t is NicType.USER and nic.restrict:
            self.warnings.append(f"{where}.restrict is not carried: libvirt's user NIC has no restrict")
        iface = ET.Element("interface", type=_INTERFACE_TYPE[t])
        _sub(iface, "mac", address=nic.mac)
        self.source(iface, nic, where, slirp)
        model = _NIC_MODEL.get(nic.model, nic.model)
        _sub(iface, "model", type=model)
        # libvirt opens a virtio NIC's tap with virtio-net headers, so the guest leaves checksums to
        # be filled in later; OVS's userspace datapath reads the tap with a packet socket and forwards
        # such frames as they are: broken (a lease works, TCP does not). Without the device's checksum
        # offload (host csum='off') the guest completes every checksum itself.
        no_csum = t is NicType.OVS and nic.bridge in self.userspace_ovs and model == "virtio"
        if nic.vhost is not Vhost.AUTO or nic.queues is not None or no_csum:
            name = None if nic.vhost is Vhost.AUTO else "vhost" if nic.vhost is Vhost.ON else "qemu"
            driver = _sub(iface, "driver", name=name, queues=nic.queues)
            if no_csum:
                _sub(driver, "host", csum="off")
        if t is NicType.PASST or (t is NicType.USER and not slirp):
            self.passt(iface, nic, where)
        self.tap_warnings(nic, where)
        # A user alias: QMP and hot-plug find the NIC as "ua-ID" (its netdev as "hostua-ID").
        _sub(iface, "alias", name=f"ua-{nic.id}")
        if nic.addr is not None:
            pci_address(iface, nic.addr)
        return iface

    def source(self, iface: ET.Element, nic: Nic, where: str, slirp: bool) -> None:
        """Where the NIC's traffic goes: <source>, and the OVS port's <vlan> and <virtualport>."""
        t = nic.type
        if t in (NicType.BRIDGE, NicType.OVS):
            _sub(iface, "source", bridge=nic.bridge)
        elif t is NicType.MACVTAP:
            _sub(iface, "source", dev=nic.parent, mode=nic.mode.value)
        elif t is NicType.NETWORK:
            _sub(iface, "source", network=nic.network)
        elif t is NicType.TAP:
            # A tap someone else made: libvirt uses it as it is and never deletes it.
            _sub(iface, "target", dev=nic.ifname, managed="no")
        if t is NicType.OVS:
            if nic.vlan is not None:
                _sub(_sub(iface, "vlan"), "tag", id=nic.vlan)
            _sub(iface, "virtualport", type="openvswitch")
        if slirp and nic.net:
            net = self.user_net(nic, where)
            _sub(iface, "ip", family="ipv4", address=net.network_address, prefix=net.prefixlen)

    def passt(self, iface: ET.Element, nic: Nic, where: str) -> None:
        """libvirt >= 9.2: passt as the user NIC's backend, each forward a <portForward>."""
        _sub(iface, "backend", type="passt")
        for j, fwd in enumerate(nic.hostfwd):
            if fwd.guest_addr:
                self.warnings.append(f"{where}.hostfwd[{j}]: the guest address {fwd.guest_addr} is not carried: "
                                     "passt forwards to the guest's own address")  # fmt: skip
            forward = _sub(iface, "portForward", proto=fwd.proto, address=fwd.host_addr)
            _sub(forward, "range", start=fwd.host_port, to=fwd.guest_port)

    def tap_warnings(self, nic: Nic, where: str) -> None:
        if nic.type in (NicType.BRIDGE, NicType.NETWORK):
            if nic.via is not Via.AUTO:
                self.warnings.append(f'{where}.via = "{nic.via.value}" is not carried: libvirt makes the tap itself')
            if nic.helper:
                self.warnings.append(f"{where}.helper is not carried: libvirt makes the tap itself")
        if nic.type is NicType.NETWORK and nic.uri not in ("qemu:///system", self.p.connect):
            self.warnings.append(f"{where}.uri is not carried: the domain joins network {nic.network!r} "
                                 "of the libvirt that runs it")  # fmt: skip

    def needs_commandline(self, nic: Nic) -> bool:
        """A user NIC libvirt cannot describe: forwards before passt (9.2), ``restrict``, or ``net`` with forwards."""
        if nic.restrict:
            return True
        return bool(nic.hostfwd) and (self.version < PASST_SINCE or nic.net is not None)

    def carry(self, nic: Nic, where: str) -> None:
        """The whole -netdev user and its -device, at a fixed PCI slot libvirt will not hand out
        (without ``addr=`` QEMU takes slot 2, which libvirt has already given away)."""
        slot = next(self.slots, None)
        if slot is None:
            raise self.refuse(where, "too many user NICs with forwards for the spare PCI slots vmrun uses",
                              hint="give at most 16 user NICs forwards")  # fmt: skip
        if nic.net:
            self.user_net(nic, where)
        netdev = [("id", nic.id), ("net", nic.net), ("restrict", True if nic.restrict else None)]
        netdev += [("hostfwd", str(fwd)) for fwd in nic.hostfwd]
        device = [("netdev", nic.id), ("mac", nic.mac), ("id", nic.id), ("bus", "pcie.0" if self.q35 else "pci.0"),
                  ("addr", f"0x{slot:x}")]  # fmt: skip
        self.qemu_args += ["-netdev", opts("user", netdev), "-device", opts(nic.model, device)]
        self.carried.add(nic.id)

    def user_net(self, nic: Nic, where: str) -> ipaddress.IPv4Network:
        text = nic.net or ""
        try:
            return ipaddress.IPv4Network(text if "/" in text else f"{text}/24", strict=False)
        except ValueError:
            raise self.refuse(f"{where}.net", f"{text!r} is not an IPv4 network",
                              hint="write e.g. 10.0.3.0/24") from None

    # -- consoles and display ---------------------------------------------------------------------

    def consoles(self, devices: ET.Element) -> None:
        # `vmrun console` goes through libvirt's console API, which wants the first serial port on a pty.
        serial = _sub(devices, "serial", type="pty")
        _sub(serial, "target", port=0)
        console = _sub(devices, "console", type="pty")
        _sub(console, "target", type="serial", port=0)
        s = self.p.spice
        if s and s.vdagent:
            channel = _sub(devices, "channel", type="spicevmc")
            _sub(channel, "target", type="virtio", name="com.redhat.spice.0")

    def graphics(self, devices: ET.Element) -> None:
        p, s = self.p, self.p.spice
        display = p.display.split(",")[0]
        if s is not None:
            passwd = None
            if s.ticketing and s.password is not None:
                passwd = s.password
                self.warnings.append("spice.password is in the domain XML: "
                                     "libvirt clients with full access can read it")
            elif s.ticketing:
                self.warnings.append("spice.ticketing without spice.password: libvirt turns ticketing off "
                                     "(unless its qemu.conf sets spice_password)")  # fmt: skip
            graphics = _sub(devices, "graphics", type="spice", port=s.port, autoport="no", passwd=passwd)
            _sub(graphics, "listen", type="address", address=s.addr)
        elif display == "vnc":
            graphics = _sub(devices, "graphics", type="vnc", port=-1, autoport="yes")
            _sub(graphics, "listen", type="address", address="127.0.0.1")
        elif display != "none":
            self.warnings.append(f'display = "{p.display}" is not carried: a libvirt domain has no local window '
                                 "(libvirt chooses its own display)")  # fmt: skip
        vga = p.vga or "std"  # QEMU's default card, there even with -display none
        if vga not in _VIDEO:
            raise self.refuse("vga", f"{vga!r} has no libvirt video model", hint=f"use one of {', '.join(_VIDEO)}")
        _sub(_sub(devices, "video"), "model", type=_VIDEO[vga])

    # -- vmrun's own metadata ---------------------------------------------------------------------

    def metadata(self, metadata: ET.Element) -> None:
        vm = _sub(metadata, "vmrun:vm", **{"xmlns:vmrun": VMRUN_NS})
        _sub(vm, "vmrun:profile", path=os.path.abspath(self.p.source))
        for nic in self.p.nics:
            _sub(vm, "vmrun:nic", id=nic.id, type=nic.type.value, model=nic.model, mac=nic.mac,
                 carried=CARRIED if nic.id in self.carried else None)  # fmt: skip
        for nic, fwd in self.p.forwards:
            _sub(vm, "vmrun:forward", nic=nic.id, rule=str(fwd))


def _alias_ok(nic_id: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "_-") for c in nic_id)


def _letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa: libvirt's disk target names."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def _version(v: int) -> str:
    return f"{v // 1_000_000}.{v // 1000 % 1000}"
