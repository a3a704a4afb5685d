"""The one adapter to netlink (pyroute2): links by name, bridges, macvtaps.

Imported lazily by the backends that need it (pyroute2 takes ~100 ms to import).
Deleting tolerates "already gone" (ENODEV) and nothing else.
"""

from __future__ import annotations

import errno
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from vmrun.errors import HostNetError


def _ipr() -> IPRoute:
    return IPRoute()


def ifindex(name: str) -> int | None:
    try:
        return int(Path(f"/sys/class/net/{name}/ifindex").read_text())
    except (OSError, ValueError):
        return None


def is_bridge(name: str) -> bool:
    return Path(f"/sys/class/net/{name}/bridge").is_dir()


def set_master_up(name: str, bridge: str | None) -> None:
    """Enslave ``name`` to ``bridge`` (if given) and bring it up."""
    with _ipr() as ipr:
        index = _lookup(ipr, name)
        try:
            if bridge is not None:
                master = _lookup(ipr, bridge)
                ipr.link("set", index=index, master=master)
            ipr.link("set", index=index, state="up")
        except NetlinkError as e:
            raise HostNetError(f"{name}: cannot attach to {bridge}: {e.args[-1]}") from None


def create_macvtap(name: str, parent: str, mode: str, mac: str) -> int:
    with _ipr() as ipr:
        link = _lookup(ipr, parent)
        try:
            ipr.link("add", ifname=name, kind="macvtap", link=link, macvtap_mode=mode, address=mac)
        except NetlinkError as e:
            raise HostNetError(f"cannot create macvtap {name} on {parent}: {e.args[-1]}") from None
        index = _lookup(ipr, name)
        try:
            ipr.link("set", index=index, state="up")
        except NetlinkError as e:
            # Not recorded yet: the caller could not undo it.
            ipr.link("del", index=index)
            raise HostNetError(f"cannot bring macvtap {name} up: {e.args[-1]}") from None
        return index


def delete_link(name: str, expected_index: int | None = None) -> bool:
    """Delete a link we made; False if it was already gone or is no longer ours (another ifindex)."""
    with _ipr() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found or (expected_index is not None and found[0] != expected_index):
            return False
        try:
            ipr.link("del", index=found[0])
        except NetlinkError as e:
            if e.code == errno.ENODEV:
                return False
            raise HostNetError(f"cannot delete {name}: {e.args[-1]}") from None
        return True


def _lookup(ipr: IPRoute, name: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise HostNetError(f"no network interface {name!r}")
    return found[0]
