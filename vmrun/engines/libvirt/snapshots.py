"""`vmrun snapshot` for a domain libvirt runs: libvirt's own snapshot API, never raw QMP.

A snapshot made over QMP behind libvirt's back would be unknown to it (and lost on
its next redefine); through virDomainSnapshotCreateXML libvirt makes the same
internal snapshot (disks, RAM, devices in the qcow2 images) and keeps its record.
As on the qemu engine, every writable disk is checked first: a raw or a transient
(`up --snapshot`) disk is named before libvirt is asked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from vmrun.adapters import libvirt as lv
from vmrun.engines.base import Snapshot, Waiting, not_supported
from vmrun.engines.common import SNAPSHOT_FORMATS
from vmrun.errors import StateError

if TYPE_CHECKING:
    from vmrun.engines.libvirt.vm import LibvirtVm


def _check_firmware(name: str, root: ET.Element) -> None:
    """libvirt (9.0) makes no internal snapshot of a domain whose firmware is on pflash: UEFI's NVRAM is."""
    loader = root.find("os/loader")
    if (loader is not None and loader.get("type") == "pflash") or root.find("os/nvram") is not None:
        raise not_supported(
            name,
            "snapshot save of a UEFI VM (libvirt makes no internal snapshot with pflash firmware)",
            "libvirt",
            hint="the qemu engine snapshots it (its NVRAM is qcow2); or copy the disks while the VM is down",
        )


def _check_disks(name: str, dom: Any) -> None:
    root = ET.fromstring(dom.XMLDesc(0))
    _check_firmware(name, root)
    for disk in root.iter("disk"):
        if disk.get("device") != "disk" or disk.find("readonly") is not None:
            continue
        target = (disk.find("target") if disk.find("target") is not None else ET.Element("t")).get("dev", "?")
        # A running transient disk's <source> is libvirt's overlay; the user's image is its backing store.
        transient = disk.find("transient") is not None
        source = (
            disk.find("backingStore/source")
            if transient and disk.find("backingStore/source") is not None
            else disk.find("source")
        )
        file = (source.get("file") or source.get("dev") or "?") if source is not None else "?"
        driver = disk.find("driver")
        fmt = (driver.get("type") if driver is not None else None) or "raw"
        if transient:
            raise StateError(
                f"{name}: disk {target} ({file}) is transient (up --snapshot): libvirt cannot snapshot it",
                hint=f"vmrun down {name}, then vmrun up {name} without --snapshot",
            )
        if fmt not in SNAPSHOT_FORMATS:
            raise StateError(
                f"{name}: disk {target} ({file}) is {fmt}, which cannot hold internal snapshots",
                hint=f"convert it (qemu-img convert -O qcow2 {file} new.qcow2)",
            )


def _lookup(name: str, dom: Any, tag: str) -> Any:
    snap = lv.lookup(
        lambda: dom.snapshotLookupByName(tag, 0),
        "VIR_ERR_NO_DOMAIN_SNAPSHOT",
        f"{name}: libvirt cannot look up snapshot {tag!r}",
    )
    if snap is None:
        raise StateError(f"{name} has no snapshot {tag!r}", hint=f"vmrun snapshot list {name}")
    return snap


def _snapshot(snap: Any) -> Snapshot:
    root = ET.fromstring(snap.getXMLDesc(0))
    disks = [d.get("name", "?") for d in root.iter("disk") if d.get("snapshot") not in ("no", None)]
    return Snapshot(
        tag=root.findtext("name", ""),
        id=root.findtext("name", ""),
        date=float(root.findtext("creationTime") or 0),
        vm_state_size=None,
        vm_clock=None,
        disks=disks,  # libvirt does not say either
    )


def save(
    vm: LibvirtVm, tag: str, *, vmstate: str | None = None, waiting: Waiting = lambda _: nullcontext()
) -> Snapshot:
    if vmstate is not None:
        raise StateError("--disk: under libvirt, libvirt chooses the disk that holds the guest's state")
    with vm.domain() as dom:
        _check_disks(vm.name, dom)
        if tag in dom.snapshotListNames(0):
            raise StateError(f"{vm.name} already has a snapshot {tag!r}", hint=f"vmrun snapshot delete {vm.name} {tag}")
        # An internal snapshot of the running domain: disks, RAM and devices, as savevm makes it.
        xml = f"<domainsnapshot><name>{escape(tag)}</name><memory snapshot='internal'/></domainsnapshot>"
        with waiting(f"saving snapshot {tag} of {vm.name}"):
            with lv.failing(f"{vm.name}: snapshot {tag} not saved"):
                snap = dom.snapshotCreateXML(xml, 0)
        return _snapshot(snap)


def load(vm: LibvirtVm, tag: str, *, waiting: Waiting = lambda _: nullcontext()) -> None:
    _on_snapshot(vm, tag, lambda dom, snap: dom.revertToSnapshot(snap, 0), "loading", "into", "loaded", waiting)


def delete(vm: LibvirtVm, tag: str, *, waiting: Waiting = lambda _: nullcontext()) -> None:
    _on_snapshot(vm, tag, lambda dom, snap: snap.delete(0), "deleting", "of", "deleted", waiting)


def _on_snapshot(
    vm: LibvirtVm, tag: str, act: Callable[[Any, Any], Any], doing: str, preposition: str, done: str, waiting: Waiting
) -> None:
    """Look the snapshot up (StateError if there is none), then act on it; libvirt's refusal on one line."""
    with vm.domain() as dom:
        snap = _lookup(vm.name, dom, tag)
        with waiting(f"{doing} snapshot {tag} {preposition} {vm.name}"):
            with lv.failing(f"{vm.name}: snapshot {tag} not {done}"):
                act(dom, snap)


def listing(vm: LibvirtVm) -> list[Snapshot]:
    with vm.domain() as dom:
        with lv.failing(f"{vm.name}: libvirt cannot list its snapshots"):
            snaps = [_snapshot(s) for s in dom.listAllSnapshots(0)]
    return sorted(snaps, key=lambda s: s.date)
