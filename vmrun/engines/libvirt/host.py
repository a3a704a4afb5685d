"""What vmrun asks of a libvirt host before it defines a domain there: accelerator, QEMU binary, OVS datapath."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from vmrun.adapters import libvirt as lv
from vmrun.engines.libvirt.uris import host_of
from vmrun.errors import HostNetError
from vmrun.profile.model import Accel, Nic, NicType, Profile

if TYPE_CHECKING:
    pass


def choose_accel(conn: Any, wanted: Accel) -> Accel:
    """``auto`` follows the target's domain capabilities: KVM only where libvirt offers it."""
    if wanted is not Accel.AUTO:
        return wanted
    offered = lv.quietly(lambda: conn.getDomainCapabilities(None, "x86_64", None, "kvm"))
    return Accel.KVM if offered is not None else Accel.TCG


def emulator(conn: Any, profile: Profile) -> str:
    """The target host's QEMU (from its domain capabilities), unless the profile names a path of its own."""
    if profile.qemu.startswith("/"):
        if host_of(conn.getURI()) == "local":  # libvirtd runs it as root: the same trust as `up` here
            from vmrun import trust

            trust.check_program(profile.qemu, source=profile.source, field="qemu")
        return profile.qemu
    import xml.etree.ElementTree as ET

    caps = ET.fromstring(conn.getDomainCapabilities(None, "x86_64", None, "qemu"))
    return caps.findtext("path") or profile.qemu


def userspace_ovs(nics: Iterable[Nic], uri: str) -> frozenset[str]:
    """The OVS bridges of ``nics`` on the userspace (netdev) datapath, when libvirt runs on this host
    (its OVS is the one ovs-vsctl reaches here); elsewhere vmrun cannot tell, and assumes the kernel's."""
    if host_of(uri) != "local":
        return frozenset()
    from vmrun.adapters import ovs

    bridges = {n.bridge for n in nics if n.type is NicType.OVS and n.bridge}
    if not bridges or shutil.which(ovs.VSCTL) is None:
        return frozenset()
    found = set()
    for bridge in bridges:
        try:
            if ovs.datapath(bridge) == "netdev":
                found.add(bridge)
        except HostNetError:
            pass  # not reachable from here: libvirt will say what is wrong with the bridge
    return frozenset(found)
