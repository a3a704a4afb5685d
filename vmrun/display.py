"""Where a VM's SPICE display is, and its password: from vmrun's run state, or from a libvirt domain's XML.

Both engines answer `vmrun viewer` with a :class:`Display` (``RunningVm.display()``); opening a viewer
on it is :mod:`vmrun.viewer`'s.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmrun.errors import StateError

if TYPE_CHECKING:
    from pathlib import Path

    from vmrun.runstate import RunState


@dataclass(frozen=True)
class Display:
    name: str
    host: str
    port: int
    password: str | None = None

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"spice://{host}:{self.port}"


def _reachable(addr: str) -> str:
    """A wildcard listen address is reached on loopback."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(addr, addr)


def display_of_state(name: str, state: RunState, secret: Path) -> Display:
    """The SPICE address of a VM from its run state; the password from ``secret`` (written 0600 by `up`), if any."""
    if state.spice is None:
        raise StateError(
            f"{name}: has no SPICE display", hint="add [spice] with port = 5930 to its profile, then up it again"
        )
    password = secret.read_text() if secret.is_file() else None
    return Display(name, _reachable(state.spice.addr), state.spice.port, password)


def display_from_xml(name: str, xml: str, host: str) -> Display:
    """``virsh domdisplay`` from a live domain's XML; ``host`` is the libvirt host ("local" for this one)."""
    graphics = ET.fromstring(xml).find("./devices/graphics[@type='spice']")
    if graphics is None or graphics.get("port") in (None, "-1"):
        raise StateError(f"{name}: its domain has no SPICE display (or no port yet)", hint=f"virsh dumpxml {name}")
    listen = graphics.get("listen") or ""
    address = _reachable(listen)
    if host != "local" and listen in ("0.0.0.0", "::", ""):
        address = host  # every address of that host: reach it by the name its URI gives
    elif host != "local" and (address.startswith("127.") or address == "::1"):
        port = graphics.get("port")
        raise StateError(
            f"{name}: SPICE listens on {host}'s loopback only ({listen})",
            hint=f"tunnel it: ssh -L {port}:{address}:{port} {host}, then open spice://127.0.0.1:{port}",
        )
    return Display(name, address, int(graphics.get("port", "0")), graphics.get("passwd"))
