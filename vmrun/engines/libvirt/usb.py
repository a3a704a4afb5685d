"""`vmrun usb` on a VM libvirt runs: a <hostdev type='usb'> attached and detached by libvirt.

libvirt looks the device up on its host at attach (QEMU's usb-host would wait for it): a device
that is not plugged in is libvirt's refusal, said in one line, and the record vmrun wrote first
(phase ``adding``, in the domain's metadata like the NICs') goes again. libvirt cannot hot-plug a
USB controller, and names no USB device by its port: both are not supported on this engine.
`usb list` reads the domain's live XML.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from vmrun.adapters import libvirt as lv
from vmrun.engines.base import not_supported
from vmrun.engines.common import new_usb
from vmrun.engines.libvirt.dom import metadata
from vmrun.engines.libvirt.nics import DETACH_POLL, _flags, _save
from vmrun.engines.libvirt.xmlusb import alias_problem, host_port_refused, usb_hostdev
from vmrun.errors import EngineError, ProfileError, StateError
from vmrun.profile.model import UsbDevice
from vmrun.runstate import ADDING, REMOVING, RUNNING

if TYPE_CHECKING:
    from vmrun.engines.libvirt.vm import LibvirtVm


def _usb_controllers(xml: str) -> list[ET.Element]:
    return [c for c in ET.fromstring(xml).iter("controller") if c.get("type") == "usb" and c.get("model") != "none"]


def add(vm: LibvirtVm, text: str, usb_id: str | None) -> UsbDevice:
    from vmrun.profile import load_profile

    with vm.domain() as dom:
        meta = metadata(dom) or {"nics": [], "forwards": [], "usb": []}
        profile = load_profile(meta["profile"])
        taken = [(n["id"], "nic", f"NIC {n['id']}", n.get("phase", RUNNING)) for n in meta["nics"]]
        taken += [
            (u["id"], "usb", f"USB {u.get('vendor')}:{u.get('product')}", u.get("phase", RUNNING)) for u in meta["usb"]
        ]
        dev = new_usb(text, usb_id, profile, taken)
        if dev.host is not None:
            raise host_port_refused(vm.name, text)
        if problem := alias_problem(dev):
            raise ProfileError(problem, field=f"--id {dev.id}")
        if not _usb_controllers(dom.XMLDesc(0)):
            raise not_supported(
                vm.name,
                "hot-plugging a USB controller",
                vm.engine,
                hint=f'its domain has no USB: give the profile a [[usb]] device or machine = "...,usb=on", '
                f"then vmrun down {vm.name} and vmrun up {vm.name}",
            )
        xml = ET.tostring(usb_hostdev(None, dev), encoding="unicode")
        # Recorded before libvirt is asked: an add killed from here on leaves a device `usb del` takes out.
        entry = {"id": dev.id, "vendor": dev.vendor, "product": dev.product, "hotplugged": "yes", "phase": ADDING}
        meta["usb"].append(entry)
        _save(dom, meta)
        try:
            with lv.failing(f"{vm.name}: libvirt could not attach USB {dev.what}"):
                dom.attachDeviceFlags(xml, _flags(dom))
        except EngineError:
            meta["usb"].remove(entry)
            _save(dom, meta)
            raise
        del entry["phase"]
        _save(dom, meta)
    return dev


def delete(vm: LibvirtVm, usb_id: str, *, timeout: float) -> None:
    with vm.domain() as dom:
        meta = metadata(dom) or {"nics": [], "forwards": [], "usb": []}
        entry = next((u for u in meta["usb"] if u["id"] == usb_id), None)
        if entry is None:
            raise StateError(f"{vm.name}: no USB device {usb_id!r}", hint=f"vmrun usb list {vm.name} -c {vm.uri}")
        resumed = entry.get("phase") in (ADDING, REMOVING)
        if not resumed:
            entry["phase"] = (
                REMOVING  # recorded before libvirt is asked: a del killed from here on is finished by the next
            )
            _save(dom, meta)
        alias = f"'ua-{usb_id}'"
        if alias in dom.XMLDesc(0):
            try:
                with lv.failing(f"{vm.name}: libvirt could not detach {usb_id}"):
                    dom.detachDeviceAlias(f"ua-{usb_id}", _flags(dom))
            except EngineError:
                if not resumed:
                    del entry["phase"]
                    _save(dom, meta)
                raise
        deadline = time.monotonic() + timeout
        while alias in dom.XMLDesc(0):
            if time.monotonic() >= deadline:
                raise StateError(f"{vm.name}: libvirt did not remove USB device {usb_id} within {timeout:.0f} s")
            time.sleep(DETACH_POLL)
        meta["usb"] = [u for u in meta["usb"] if u["id"] != usb_id]
        _save(dom, meta)


def listing(vm: LibvirtVm) -> list[dict[str, Any]]:
    """The USB <hostdev>s of the domain, joined with vmrun's metadata (origin). A running domain has each one
    attached (libvirt starts and attaches only what is there); a defined one that is not running, none."""
    with vm.domain() as dom:
        xml = dom.XMLDesc(0)
        meta = metadata(dom) or {"usb": []}
        attached = bool(dom.isActive())
    known = {u["id"]: u for u in meta.get("usb", [])}
    out = []
    for hostdev in ET.fromstring(xml).iter("hostdev"):
        if hostdev.get("type") != "usb":
            continue
        alias = hostdev.find("alias")
        usb_id = (alias.get("name", "") if alias is not None else "").removeprefix("ua-")
        vendor, product = (hostdev.find(f"source/{k}") for k in ("vendor", "product"))
        device = ":".join(e.get("id", "0x0").removeprefix("0x") if e is not None else "?" for e in (vendor, product))
        entry = known.get(usb_id)
        origin = "unknown" if entry is None else "hot-plugged" if entry.get("hotplugged") == "yes" else "profile"
        if entry is not None and entry.get("phase", RUNNING) != RUNNING:
            origin = "interrupted add" if entry["phase"] == ADDING else "being removed"
        out.append({"id": usb_id, "device": device, "attached": attached, "origin": origin})
    return out
