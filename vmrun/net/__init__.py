"""NIC backends: each prepares one NIC's host side and says how QEMU reaches it.

One module per ``type`` in ``[[nics]]``; :func:`backend_for` imports it lazily
so that ``vmrun --help`` never pulls in pyroute2 or libvirt.
"""

from __future__ import annotations

import importlib

from vmrun.errors import ProfileError
from vmrun.net.base import Backend, NetdevSpec, PrepareContext, PreparedNic
from vmrun.profile.model import Nic, NicType

_MODULES = {
    NicType.USER: "vmrun.net.user",
    NicType.BRIDGE: "vmrun.net.bridge",
    NicType.MACVTAP: "vmrun.net.macvtap",
    NicType.OVS: "vmrun.net.ovs",
    NicType.NETWORK: "vmrun.net.network",
    NicType.PASST: "vmrun.net.passt",
    NicType.TAP: "vmrun.net.tapif",
    NicType.NETDEV: "vmrun.net.netdev",
}

__all__ = ["Backend", "NetdevSpec", "PrepareContext", "PreparedNic", "backend_for"]


def backend_for(nic: Nic, source: str | None = None) -> Backend:
    module = _MODULES.get(nic.type)
    if module is None:
        raise ProfileError(
            f"NIC type {nic.type.value!r} is not supported by this version of vmrun yet",
            source=source,
            field=f"nic {nic.id}.type",
        )
    return importlib.import_module(module).BACKEND
