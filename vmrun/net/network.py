"""``type = "network"``: the bridge of an active libvirt network, then exactly a ``bridge`` NIC.

libvirt is asked once per process, read-only, for the network's bridge; the
tap (or qemu-bridge-helper) part is :class:`vmrun.net.bridge.BridgeBackend`'s.
vmrun never starts or changes the network: a missing or inactive one stops
`up` with the virsh command that fixes it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from vmrun.errors import EngineError, PreflightError
from vmrun.net.base import PrepareContext, PreparedNic, nic_field
from vmrun.net.bridge import BridgeBackend
from vmrun.profile.model import Nic, Profile


class NetworkBackend(BridgeBackend):
    def bridge_of(self, nic: Nic, profile: Profile) -> str:
        assert nic.network is not None
        found = lookup(nic.uri, nic.network)
        if isinstance(found, str):
            return found
        key, message, hint = found
        raise PreflightError(message, source=profile.source, field=f"{nic_field(profile, nic)}.{key}", hint=hint)

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        prepared = super().prepare(nic, ctx)
        prepared.host = {"network": nic.network, "uri": nic.uri, **prepared.host}
        return prepared


@cache
def lookup(uri: str, network: str) -> str | tuple[str, str, str]:
    """The network's bridge, or why there is none as (profile key, message, hint)."""
    from vmrun.adapters import libvirt as lv

    try:
        # Read-only: we only look, and the read-only socket needs no polkit for a plain user.
        conn = lv.open_connection(uri, readonly=True)
    except PreflightError as e:
        return ("uri", e.message, e.hint or "")
    try:
        return _bridge(conn, uri, network)
    except EngineError as e:
        return ("network", e.message, e.hint or "")
    finally:
        conn.close()


def _bridge(conn: Any, uri: str, network: str) -> str | tuple[str, str, str]:
    from vmrun.adapters import libvirt as lv

    virsh = lv.virsh(uri)
    net = lv.lookup(
        lambda: conn.networkLookupByName(network),
        "VIR_ERR_NO_NETWORK",
        f"libvirt at {uri} cannot look up network {network!r}",
    )
    if net is None:
        define = f"{virsh} net-define FILE.xml && {virsh} net-start NAME"
        return (
            "network",
            f"libvirt at {uri} has no network {network!r}",
            f"{virsh} net-list --all shows the networks; to make one: {define}",
        )
    if not net.isActive():
        hint = f"{virsh} net-start {network}"
        # A transient network cannot autostart (virsh refuses), so only a persistent one gets that advice.
        if net.isPersistent():
            hint += f" (and {virsh} net-autostart {network} to start it at boot)"
        return ("network", f"libvirt network {network!r} is not active", hint)
    # A macvtap or hostdev network has an interface pool, not a bridge a tap could join.
    with lv.failing(
        f"libvirt network {network!r} has no bridge",
        hint="use a NAT, routed, isolated or forward mode='bridge' network, or type = \"macvtap\"",
    ):
        return net.bridgeName()


BACKEND = NetworkBackend()
