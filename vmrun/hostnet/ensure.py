"""`vmrun up` makes the networks a profile lists (``[[networks]]``) that the host lacks.

They are host set-up, not VM state: `vmrun down` leaves them, and so does a
failed `up` (another VM may already use them by then).
"""

from __future__ import annotations

from collections.abc import Callable

from vmrun.errors import HostNetError, PreflightError, VmrunError
from vmrun.profile.model import NetKind, Network, Profile


def ensure_networks(profile: Profile, notice: Callable[[str], None] = lambda _: None) -> list[str]:
    """Make or start each missing network; what was done, also told through ``notice``."""
    done = []
    for i, net in enumerate(profile.networks):
        try:
            what = _ensure(net, notice)
        except VmrunError as e:
            reason = getattr(e, "reason", e.message)
            if e.exit_code == 2:
                raise PreflightError(reason, source=profile.source, field=f"networks[{i}]", hint=e.hint) from None
            raise HostNetError(f"{profile.source}: networks[{i}]: {reason}", hint=e.hint) from None
        if what:
            notice(f"{what}; it stays after `vmrun down` (host set-up, not part of the VM)")
            done.append(what)
    return done


def _ensure(net: Network, notice: Callable[[str], None]) -> str | None:
    if net.kind.libvirt:
        from vmrun.hostnet import libvirt_nets

        return libvirt_nets.ensure(net, notice)
    if net.kind is NetKind.BRIDGE:
        from vmrun.hostnet import linux_bridge

        if linux_bridge.exists(net.name):
            if not linux_bridge.is_bridge(net.name):
                raise PreflightError(f"{net.name} exists and is not a Linux bridge")
            return None
        return linux_bridge.create(net.name, net.uplink, notice=notice)
    from vmrun.hostnet import ovs_bridge

    if ovs_bridge.exists(net.name):
        return None
    return ovs_bridge.create(net.name, net.uplink, notice=notice)
