"""The domain XML's <interface> elements, and the NICs libvirt has no form for, carried in <qemu:commandline>
(a part of :class:`vmrun.engines.libvirt.xml._Build`)."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

from vmrun.engines.libvirt.xmlbase import (
    INTERFACE_TYPE,
    NIC_MODEL,
    PASST_SINCE,
    alias_ok,
    pci_address,
    sub,
    version_text,
)
from vmrun.profile.model import Nic, NicType, Vhost, Via
from vmrun.qemuopts import opts


class NicXml:
    def no_qemu_options(self, nic: Nic, where: str) -> None:
        """An id libvirt can alias; no QEMU options (an import's netdev_options, device_options): libvirt has no form."""
        if not alias_ok(nic.id):
            raise self.refuse(
                f"{where}.id",
                f"{nic.id!r}: libvirt aliases take letters, digits, '_' and '-' only",
                hint="rename the NIC",
            )
        for key in ("netdev_options", "device_options"):
            if getattr(nic, key):
                raise self.refuse(
                    f"{where}.{key}",
                    f"{getattr(nic, key)!r}: libvirt's <interface> has no place for QEMU's own options",
                    hint=f'write them as libvirt XML by hand, drop {key}, or run with engine = "qemu"',
                )

    def interface(self, nic: Nic, where: str, *, hotplug: bool = False) -> ET.Element | None:
        """The NIC's <interface>, or None when it is carried in <qemu:commandline> instead.

        ``hotplug``: for attachDeviceFlags, where a user NIC is plain slirp (vmrun adds its forwards live).
        """
        self.no_qemu_options(nic, where)
        t = nic.type
        if t is NicType.PASST and self.version < PASST_SINCE:
            raise self.refuse(
                f"{where}.type",
                f"passt needs libvirt 9.2 or later (the target has {version_text(self.version)})",
                hint='use type = "user", whose forwards vmrun carries for libvirt 9.0',
            )
        if t is NicType.NETDEV:
            raise self.refuse(
                f"{where}.type",
                f"a -netdev {nic.backend} has no libvirt interface vmrun writes",
                hint='run this profile with engine = "qemu"',
            )
        if t is NicType.TAP and nic.script is not None:
            raise self.refuse(
                f"{where}.script",
                "libvirt makes its taps itself and runs no QEMU ifup script",
                hint='name an existing tap with ifname = ..., or use type = "bridge"',
            )
        if t is NicType.USER and not hotplug and self.needs_commandline(nic):
            self.carry(nic, where)
            return None
        # A user NIC is QEMU's slirp unless libvirt (>= 9.2) can run passt for its forwards.
        slirp = t is NicType.USER and (not nic.hostfwd or self.needs_commandline(nic))
        if hotplug and t is NicType.USER and nic.restrict:
            self.warnings.append(f"{where}.restrict is not carried: libvirt's user NIC has no restrict")
        iface = ET.Element("interface", type=INTERFACE_TYPE[t])
        sub(iface, "mac", address=nic.mac)
        self.source(iface, nic, where, slirp)
        model = NIC_MODEL.get(nic.model, nic.model)
        sub(iface, "model", type=model)
        # libvirt opens a virtio NIC's tap with virtio-net headers, so the guest leaves checksums to
        # be filled in later; OVS's userspace datapath reads the tap with a packet socket and forwards
        # such frames as they are: broken (a lease works, TCP does not). Without the device's checksum
        # offload (host csum='off') the guest completes every checksum itself.
        no_csum = t is NicType.OVS and nic.bridge in self.userspace_ovs and model == "virtio"
        if nic.vhost is not Vhost.AUTO or nic.queues is not None or no_csum:
            name = None if nic.vhost is Vhost.AUTO else "vhost" if nic.vhost is Vhost.ON else "qemu"
            driver = sub(iface, "driver", name=name, queues=nic.queues)
            if no_csum:
                sub(driver, "host", csum="off")
        if t is NicType.PASST or (t is NicType.USER and not slirp):
            self.passt(iface, nic, where)
        self.tap_warnings(nic, where)
        # A user alias: QMP and hot-plug find the NIC as "ua-ID" (its netdev as "hostua-ID").
        sub(iface, "alias", name=f"ua-{nic.id}")
        if nic.addr is not None:
            pci_address(iface, nic.addr)
        return iface

    def source(self, iface: ET.Element, nic: Nic, where: str, slirp: bool) -> None:
        """Where the NIC's traffic goes: <source>, and the OVS port's <vlan> and <virtualport>."""
        t = nic.type
        if t in (NicType.BRIDGE, NicType.OVS):
            sub(iface, "source", bridge=nic.bridge)
        elif t is NicType.MACVTAP:
            sub(iface, "source", dev=nic.parent, mode=nic.mode.value)
        elif t is NicType.NETWORK:
            sub(iface, "source", network=nic.network)
        elif t is NicType.TAP:
            # A tap someone else made: libvirt uses it as it is and never deletes it.
            sub(iface, "target", dev=nic.ifname, managed="no")
        if t is NicType.OVS:
            if nic.vlan is not None:
                sub(sub(iface, "vlan"), "tag", id=nic.vlan)
            sub(iface, "virtualport", type="openvswitch")
        if slirp and nic.net:
            net = self.user_net(nic, where)
            sub(iface, "ip", family="ipv4", address=net.network_address, prefix=net.prefixlen)

    def passt(self, iface: ET.Element, nic: Nic, where: str) -> None:
        """libvirt >= 9.2: passt as the user NIC's backend, each forward a <portForward>."""
        sub(iface, "backend", type="passt")
        for j, fwd in enumerate(nic.hostfwd):
            if fwd.guest_addr:
                self.warnings.append(
                    f"{where}.hostfwd[{j}]: the guest address {fwd.guest_addr} is not carried: "
                    "passt forwards to the guest's own address"
                )
            forward = sub(iface, "portForward", proto=fwd.proto, address=fwd.host_addr)
            sub(forward, "range", start=fwd.host_port, to=fwd.guest_port)

    def tap_warnings(self, nic: Nic, where: str) -> None:
        if nic.type in (NicType.BRIDGE, NicType.NETWORK):
            if nic.via is not Via.AUTO:
                self.warnings.append(f'{where}.via = "{nic.via.value}" is not carried: libvirt makes the tap itself')
            if nic.helper:
                self.warnings.append(f"{where}.helper is not carried: libvirt makes the tap itself")
        if nic.type is NicType.NETWORK and nic.uri not in ("qemu:///system", self.p.connect):
            self.warnings.append(
                f"{where}.uri is not carried: the domain joins network {nic.network!r} of the libvirt that runs it"
            )

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
            raise self.refuse(
                where,
                "too many user NICs with forwards for the spare PCI slots vmrun uses",
                hint="give at most 16 user NICs forwards",
            )
        if nic.net:
            self.user_net(nic, where)
        netdev = [("id", nic.id), ("net", nic.net), ("restrict", True if nic.restrict else None)]
        netdev += [("hostfwd", str(fwd)) for fwd in nic.hostfwd]
        device = [
            ("netdev", nic.id),
            ("mac", nic.mac),
            ("id", nic.id),
            ("bus", "pcie.0" if self.q35 else "pci.0"),
            ("addr", f"0x{slot:x}"),
        ]
        self.qemu_args += ["-netdev", opts("user", netdev), "-device", opts(nic.model, device)]
        self.carried.add(nic.id)

    def user_net(self, nic: Nic, where: str) -> ipaddress.IPv4Network:
        text = nic.net or ""
        try:
            return ipaddress.IPv4Network(text if "/" in text else f"{text}/24", strict=False)
        except ValueError:
            raise self.refuse(
                f"{where}.net", f"{text!r} is not an IPv4 network", hint="write e.g. 10.0.3.0/24"
            ) from None

    # -- consoles and display ---------------------------------------------------------------------
