"""`vmrun nic` and `vmrun fwd` on a VM libvirt runs.

NICs are attached and detached by libvirt (``attachDeviceFlags`` /
``detachDeviceAlias``, live, and in the definition too for a persistent
domain); slirp forwards go through libvirt's monitor passthrough
(``hostfwd_add``), since libvirt 9.0 has no element for them. What vmrun knows
of each (NIC ids, forwards added live) is kept in the domain's own metadata, so
it travels with the domain when it migrates.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from vmrun import ui
from vmrun.adapters import libvirt as lv
from vmrun.engines.base import Added
from vmrun.engines.common import new_nic, no_such_forward, same_host_side, user_nic
from vmrun.engines.libvirt.dom import metadata
from vmrun.engines.libvirt.host import userspace_ovs
from vmrun.errors import EngineError, QmpError, StateError
from vmrun.profile.fields import parse_hostfwd, parse_rule_arg
from vmrun.runstate import ADDING, REMOVING, RUNNING, Forward

if TYPE_CHECKING:
    from vmrun.engines.libvirt.vm import LibvirtVm

DETACH_POLL = 0.2


def _flags(dom: Any) -> int:
    libvirt = lv.quiet_libvirt()
    return libvirt.VIR_DOMAIN_AFFECT_LIVE | (libvirt.VIR_DOMAIN_AFFECT_CONFIG if dom.isPersistent() else 0)


def metadata_xml(meta: dict[str, Any]) -> str:
    """vmrun's metadata element, as :func:`vmrun.engines.libvirt.xml.read_metadata` reads it back.

    Without a namespace: libvirt puts the element and its children in the one it is given.
    """
    import xml.etree.ElementTree as ET

    root = ET.Element("vm")
    ET.SubElement(root, "profile", path=meta.get("profile", ""))
    for nic in meta.get("nics", []):
        ET.SubElement(root, "nic", {k: str(v) for k, v in nic.items()})
    for fwd in meta.get("forwards", []):
        ET.SubElement(root, "forward", {k: str(v) for k, v in fwd.items()})
    for usb in meta.get("usb", []):
        ET.SubElement(root, "usb", {k: str(v) for k, v in usb.items()})
    return ET.tostring(root, encoding="unicode")


def _save(dom: Any, meta: dict[str, Any]) -> None:
    from vmrun.engines.libvirt.xml import VMRUN_NS

    libvirt = lv.quiet_libvirt()
    with lv.failing(f"{dom.name()}: libvirt would not keep vmrun's metadata"):
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata_xml(meta), "vmrun", VMRUN_NS, _flags(dom))


def hostfwd(dom: Any, nic_id: str, rule: str, *, add: bool) -> None:
    """A slirp forward added or removed live on the NIC's netdev (``hostua-ID``, or the id itself
    for a NIC carried in <qemu:commandline>)."""
    from vmrun.engines.libvirt.xml import CARRIED

    nic = next((n for n in (metadata(dom) or {}).get("nics", []) if n.get("id") == nic_id), {})
    netdev = nic_id if nic.get("carried") == CARRIED else f"hostua-{nic_id}"
    if add:
        line = f"hostfwd_add {netdev} {rule}"
    else:
        fwd = parse_hostfwd(rule)
        line = f"hostfwd_remove {netdev} {fwd.proto}:{fwd.host_addr}:{fwd.host_port}"
    answer = lv.monitor(dom, line, hmp=True).strip()
    # On removal "not found" is a forward already gone (a `fwd del` cut short): its record just goes too.
    if answer and not (not add and answer.endswith(("removed", "not found"))):
        raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def add(vm: LibvirtVm, raw: dict[str, Any]) -> Added:
    from vmrun.engines.libvirt.xml import interface_xml
    from vmrun.profile import load_profile

    with vm.domain() as dom:
        meta = metadata(dom) or {"nics": [], "forwards": []}
        profile = load_profile(meta["profile"])
        taken = [(n["id"], n.get("mac"), n.get("phase", RUNNING)) for n in meta["nics"]]
        nic = new_nic(raw, profile, taken, [u["id"] for u in meta.get("usb", [])])
        built = interface_xml(
            profile, nic, libvirt_version=dom.connect().getLibVersion(), userspace_ovs=userspace_ovs([nic], vm.uri)
        )
        for warning in built.warnings:
            ui.notice(warning)
        # Recorded before libvirt is asked: an add killed from here on leaves a NIC `nic del` takes out.
        entry = {
            "id": nic.id,
            "type": nic.type.value,
            "model": nic.model,
            "mac": nic.mac,
            "hotplugged": "yes",
            "phase": ADDING,
        }
        meta["nics"].append(entry)
        _save(dom, meta)
        try:
            with lv.failing(f"{vm.name}: libvirt could not attach {nic.id}"):
                dom.attachDeviceFlags(built.xml, _flags(dom))
        except EngineError:
            meta["nics"].remove(entry)
            _save(dom, meta)
            raise
        del entry["phase"]
        _save(dom, meta)
        if "<portForward" not in built.xml:  # below libvirt 9.2 the forwards are added live
            for fwd in nic.hostfwd:
                hostfwd(dom, nic.id, str(fwd), add=True)
                meta["forwards"].append({"nic": nic.id, "rule": str(fwd), "live": "yes"})
            _save(dom, meta)
    host = {"uri": vm.uri, **({"bridge": nic.bridge} if nic.bridge else {})}
    return Added(nic, host, None, profile.source)


def delete(vm: LibvirtVm, nic_id: str, *, timeout: float) -> None:
    from vmrun.engines.libvirt.xml import CARRIED

    with vm.domain() as dom:
        meta = metadata(dom) or {"nics": [], "forwards": []}
        nic = next((n for n in meta["nics"] if n["id"] == nic_id), None)
        if nic is None:
            raise StateError(f"{vm.name}: no NIC {nic_id!r}", hint=f"vmrun nic list {vm.name} -c {vm.uri}")
        if nic.get("carried") == CARRIED:
            raise StateError(
                f"{vm.name}: {nic_id} is passed to QEMU in <qemu:commandline>, which libvirt cannot unplug",
                hint="it goes with the domain (vmrun down)",
            )
        resumed = nic.get("phase") in (ADDING, REMOVING)  # a command cut short: libvirt may have done its part
        if not resumed:
            nic["phase"] = (
                REMOVING  # recorded before libvirt is asked: a del killed from here on is finished by the next
            )
            _save(dom, meta)
        if f"'ua-{nic_id}'" in dom.XMLDesc(0):
            try:
                with lv.failing(f"{vm.name}: libvirt could not detach {nic_id}"):
                    dom.detachDeviceAlias(f"ua-{nic_id}", _flags(dom))
            except EngineError:
                if not resumed:  # refused: the NIC is as it was
                    del nic["phase"]
                    _save(dom, meta)
                    raise
        elif not resumed:  # recorded as running, yet gone: a `nic del` of an older vmrun cut short
            ui.notice(f"libvirt had no NIC {nic_id} in {vm.name} any more; dropped from vmrun's metadata")
        deadline = time.monotonic() + timeout
        while f"'ua-{nic_id}'" in dom.XMLDesc(0):
            if time.monotonic() >= deadline:
                raise StateError(
                    f"{vm.name}: the guest did not release NIC {nic_id} within {timeout:.0f} s",
                    hint="the guest OS must accept the unplug (ACPI hot-plug); try again, or vmrun down",
                )
            time.sleep(DETACH_POLL)
        meta["nics"] = [n for n in meta["nics"] if n["id"] != nic_id]
        meta["forwards"] = [f for f in meta["forwards"] if f["nic"] != nic_id]
        _save(dom, meta)


def add_forward(vm: LibvirtVm, rule: str, nic_id: str | None) -> Forward:
    fwd = parse_rule_arg(rule)
    with vm.domain() as dom:
        meta = metadata(dom) or {"nics": [], "forwards": []}
        nic = user_nic(vm.name, [n["id"] for n in meta["nics"] if n.get("type") == "user"], nic_id)
        hostfwd(dom, nic, str(fwd), add=True)
        meta["forwards"].append({"nic": nic, "rule": str(fwd), "live": "yes"})
        _save(dom, meta)
    return Forward(nic, str(fwd))


def delete_forward(vm: LibvirtVm, rule: str) -> Forward:
    fwd = parse_rule_arg(rule, host_side_only=True)
    with vm.domain() as dom:
        meta = metadata(dom) or {"nics": [], "forwards": []}
        for f in meta["forwards"]:
            if same_host_side(f["rule"], fwd):
                hostfwd(dom, f["nic"], f["rule"], add=False)
                meta["forwards"].remove(f)
                _save(dom, meta)
                return Forward(f["nic"], f["rule"])
    raise no_such_forward(vm.name, fwd, hint=f"vmrun fwd list {vm.name} -c {vm.uri}")
