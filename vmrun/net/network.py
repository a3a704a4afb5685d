"""``type = "network"``: the bridge of an active libvirt network, then exactly a ``bridge`` NIC.

libvirt is asked once per process, read-only, for the network's bridge; the
tap (or qemu-bridge-helper) part is :class:`vmrun.net.bridge.BridgeBackend`'s.
vmrun never starts or changes the network: a missing or inactive one stops
`up` with the virsh command that fixes it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from vmrun.adapters.libvirt import quiet_libvirt
from vmrun.adapters.libvirt import reason as libvirt_reason
from vmrun.errors import PreflightError
from vmrun.net.base import PreparedNic, PrepareContext, nic_field
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
    try:
        libvirt = quiet_libvirt()
    except ImportError:
        return ("uri", "the libvirt Python binding is not installed",
                "pip install libvirt-python (it builds against libvirt-dev and pkg-config)")  # fmt: skip
    try:
        # Read-only: we only look, and the read-only socket needs no polkit for a plain user.
        conn = libvirt.openReadOnly(uri)
    except libvirt.libvirtError as e:
        hint = "start libvirtd (systemctl start libvirtd; without systemd: virtlogd -d && libvirtd -d), or fix uri"
        return ("uri", f"cannot reach libvirt at {uri}: {libvirt_reason(e)}", hint)
    try:
        return _bridge(libvirt, conn, uri, network)
    finally:
        conn.close()


def _bridge(libvirt: Any, conn: Any, uri: str, network: str) -> str | tuple[str, str, str]:
    virsh = "virsh" if uri == "qemu:///system" else f"virsh -c {uri}"
    try:
        net = conn.networkLookupByName(network)
    except libvirt.libvirtError as e:
        if e.get_error_code() != libvirt.VIR_ERR_NO_NETWORK:
            return ("network", f"libvirt at {uri} cannot look up network {network!r}: {libvirt_reason(e)}",
                    f"{virsh} net-list --all")  # fmt: skip
        define = f"{virsh} net-define FILE.xml && {virsh} net-start NAME"
        return ("network", f"libvirt at {uri} has no network {network!r}",
                f"{virsh} net-list --all shows the networks; to make one: {define}")  # fmt: skip
    try:
        if not net.isActive():
            hint = f"{virsh} net-start {network}"
            # A transient network cannot autostart (virsh refuses), so only a persistent one gets that advice.
            if net.isPersistent():
                hint += f" (and {virsh} net-autostart {network} to start it at boot)"
            return ("network", f"libvirt network {network!r} is not active", hint)
        return net.bridgeName()
    except libvirt.libvirtError as e:
        # A macvtap or hostdev network has an interface pool, not a bridge a tap could join.
        return ("network", f"libvirt network {network!r} has no bridge: {libvirt_reason(e)}",
                "use a NAT, routed, isolated or forward mode='bridge' network, or type = \"macvtap\"")  # fmt: skip


BACKEND = NetworkBackend()
