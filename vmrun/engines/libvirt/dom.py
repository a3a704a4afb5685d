"""What vmrun reads off a libvirt domain: its metadata, its state as `ps` shows it, its monitor.

The domain carries vmrun's metadata (profile path, NIC ids, forwards), so `ps`, `nic` and
`fwd` know it again from libvirt alone, on whichever host it now runs.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from vmrun.adapters import libvirt as lv
from vmrun.errors import QmpError
from vmrun.runstate import RUNNING, Forward, NicState, RunState, UsbState

if TYPE_CHECKING:
    pass


# virDomainState -> what `ps` says, as QEMU's own run states read
STATES = {
    0: "unknown",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutting down",
    5: "shut off",
    6: "crashed",
    7: "suspended",
}


def lookup(conn: Any, name: str) -> Any | None:
    return lv.lookup(lambda: conn.lookupByName(name), "VIR_ERR_NO_DOMAIN", f"{name}: libvirt cannot look it up")


def metadata(dom: Any) -> dict[str, Any] | None:
    """vmrun's metadata of a domain; None if vmrun did not make it."""
    from vmrun.engines.libvirt.xml import read_metadata

    return read_metadata(dom.XMLDesc(0))


class Passthrough:
    """``execute()`` like :class:`vmrun.adapters.qmp.Qmp`, through libvirt's QEMU monitor passthrough."""

    def __init__(self, dom: Any) -> None:
        self.dom = dom

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        sent = {"execute": command, **({"arguments": arguments} if arguments else {})}
        with lv.failing(command, error=lambda message, hint: QmpError(message, sent=sent, hint=hint)):
            reply = json.loads(lv.monitor(self.dom, json.dumps(sent)))
        if "error" in reply:
            raise QmpError(f"{command}: {reply['error'].get('desc')}", sent=sent, received=reply)
        return reply.get("return")


def wait_inactive(dom: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not dom.isActive():
                return True
        except Exception:
            return True  # a transient domain that powered off is gone
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def state_of(dom: Any) -> RunState:
    import xml.etree.ElementTree as ET

    from vmrun.engines.libvirt.xml import read_metadata

    xml = dom.XMLDesc(0)
    meta = read_metadata(xml) or {}
    _, max_kib, _, vcpus, _ = dom.info()  # the domain's own figures, as `virsh dominfo` shows them
    return RunState(
        name=dom.name(),
        profile=meta.get("profile", ""),
        accel="",
        argv=[],
        started=0.0,
        phase=RUNNING,
        nics=[
            NicState(
                n["id"],
                n.get("type", ""),
                n.get("model", ""),
                n.get("mac", ""),
                hotplugged=n.get("hotplugged") == "yes",
                phase=n.get("phase", RUNNING),
            )
            for n in meta.get("nics", [])
        ],
        forwards=[Forward(f["nic"], f["rule"]) for f in meta.get("forwards", [])],
        usb=[
            UsbState(
                u["id"], f"{u.get('vendor')}:{u.get('product')}", u.get("hotplugged") == "yes", u.get("phase", RUNNING)
            )
            for u in meta.get("usb", [])
        ],
        memory_mib=max_kib // 1024,
        smp=vcpus,
        # `up --snapshot` made every writable disk transient: nothing is written to the images.
        snapshot=any(d.find("transient") is not None for d in ET.fromstring(xml).iter("disk")),
    )
