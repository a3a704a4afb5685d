"""Move an uplink's addresses and routes onto the bridge it joins, and put them all back if any step fails.

The host may be reached through that uplink (ssh over ens1f0): the order keeps
the time without a working address short, and a failure at any step restores
the snapshot taken before the first, so a remote host is not cut off.

    attach (enslave)  ->  per family: add addresses to the bridge, switch routes
    ->  remove addresses from the uplink
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

from vmrun.errors import HostNetError, StateError


@dataclass(frozen=True)
class Snapshot:
    uplink: str
    mac: str
    mtu: int
    addresses: tuple  # netlink.Address
    routes: tuple  # netlink.Route

    def describe(self) -> str:
        parts = [", ".join(str(a) for a in self.addresses) or "no addresses"]
        if self.routes:
            parts.append(f"routes: {'; '.join(str(r) for r in self.routes)}")
        return "; ".join(parts)


def snapshot(uplink: str) -> Snapshot:
    """The uplink's IP configuration; refuses (nothing made yet) what vmrun cannot move back."""
    from vmrun.adapters import netlink

    link = netlink.link(uplink)
    routes, unmovable = netlink.routes(uplink)
    if unmovable:
        raise StateError(
            f"{uplink} carries multipath or encapsulated routes vmrun does not move: {'; '.join(unmovable)}",
            hint="move them by hand after the bridge is made, or remove them first",
        )
    # Routes without a gateway first: a gateway must be reachable through the bridge before it is used.
    # Then a fixed order (main table first, default routes last), so printed configurations are stable.
    routes.sort(
        key=lambda r: (r.gateway is not None, r.family, r.table != 254, r.dst_len == 0, r.dst or "", r.priority or 0)
    )
    return Snapshot(uplink, link.mac, link.mtu, tuple(netlink.addresses(uplink)), tuple(routes))


def move(snap: Snapshot, bridge: str, attach: Callable[[], None], detach: Callable[[], None]) -> None:
    """``attach`` puts the uplink on the bridge, ``detach`` takes it off (both must tolerate "not yet")."""
    from vmrun.adapters import netlink

    try:
        attach()
        for family in (socket.AF_INET, socket.AF_INET6):
            for a in snap.addresses:
                if a.family == family:
                    netlink.add_address(bridge, a)
            for r in snap.routes:
                if r.family == family:
                    netlink.replace_route(r, bridge)
        for a in snap.addresses:
            netlink.delete_address(snap.uplink, a)
    except BaseException as e:
        failures = restore(snap, detach)
        if failures:
            raise HostNetError(
                f"{e}; and restoring {snap.uplink} failed: {'; '.join(failures)}",
                hint=f"{snap.uplink} had {snap.describe()}",
            ) from None
        if isinstance(e, HostNetError):
            raise HostNetError(f"{e}; {snap.uplink} has its addresses and routes back", hint=e.hint) from None
        raise


def restore(snap: Snapshot, detach: Callable[[], None]) -> list[str]:
    """Put every address and route of the snapshot back on the uplink; what could not be, as messages."""
    from vmrun.adapters import netlink

    failures = []
    for step in [
        detach,
        *(lambda a=a: netlink.add_address(snap.uplink, a) for a in snap.addresses),
        *(lambda r=r: netlink.replace_route(r, snap.uplink) for r in snap.routes),
    ]:
        try:
            step()
        except Exception as e:  # every step is tried: one lost route must not cost the others
            failures.append(str(e))
    return failures
