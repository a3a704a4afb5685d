"""``type = "bridge"``: a tap on an existing Linux bridge.

``via = "tap"``: vmrun makes the tap, enslaves it and passes its fd (root).
``via = "helper"``: QEMU runs qemu-bridge-helper, whose ACL we check first.
``via = "auto"``: tap when root, helper otherwise.
"""

from __future__ import annotations

import os
import shutil

from vmrun import trust
from vmrun.errors import PreflightError
from vmrun.net import bridgeacl, tap
from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic, nic_field
from vmrun.profile.model import Nic, Profile, Via

HELPER_PLACES = (
    "/usr/lib/qemu/qemu-bridge-helper",
    "/usr/libexec/qemu-bridge-helper",
    "/usr/local/libexec/qemu-bridge-helper",
)


def find_helper(nic: Nic | None = None) -> str:
    """The NIC's own helper, else the first of the usual places that has one."""
    if nic is not None and nic.helper:
        return nic.helper
    for place in HELPER_PLACES:
        if os.access(place, os.X_OK):
            return place
    return shutil.which("qemu-bridge-helper") or HELPER_PLACES[0]


def helper_privileged(helper: str) -> bool:
    """Can the helper make taps for a plain user: setuid root, or a file capability?"""
    try:
        st = os.stat(helper)
    except OSError:
        return False
    if st.st_uid == 0 and st.st_mode & 0o4000:
        return True
    try:
        return bool(os.getxattr(helper, "security.capability"))
    except OSError:
        return False


def resolve_via(nic: Nic) -> Via:
    if nic.via is Via.AUTO:
        return Via.TAP if os.geteuid() == 0 else Via.HELPER
    return nic.via


class BridgeBackend:
    """Also used by the libvirt ``network`` backend once it knows the network's bridge."""

    def bridge_of(self, nic: Nic, profile: Profile) -> str:
        assert nic.bridge is not None
        return nic.bridge

    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        bridge = self.bridge_of(nic, profile)
        if resolve_via(nic) is Via.TAP:
            return tap.shown_netdev(nic, tap.by_name(profile, nic))
        return tap.shown_netdev(nic, (("br", bridge), ("helper", find_helper(nic))))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        bridge = self.bridge_of(nic, profile)
        bridge_key = f"{field}.bridge" if nic.bridge else f"{field}.network"
        if resolve_via(nic) is Via.HELPER:  # QEMU runs it, as this user: whose it is comes first
            trust.check_program(find_helper(nic), source=profile.source, field=f"{field}.helper")
        if not os.path.isdir(f"/sys/class/net/{bridge}/bridge"):
            raise PreflightError(
                f"there is no Linux bridge {bridge!r} on this host",
                source=profile.source,
                field=bridge_key,
                hint=f"create it (ip link add {bridge} type bridge && ip link set {bridge} up) or fix the name",
            )
        tap.check_vhost(nic, profile, field)
        if resolve_via(nic) is Via.TAP:
            if os.geteuid() != 0:
                raise PreflightError(
                    'via = "tap" needs root',
                    source=profile.source,
                    field=f"{field}.via",
                    hint='run as root, or use via = "helper" (qemu-bridge-helper)',
                )
            return
        helper = find_helper(nic)
        if not os.access(helper, os.X_OK):
            raise PreflightError(
                f"qemu-bridge-helper not found at {helper}",
                source=profile.source,
                field=f"{field}.helper",
                hint='install qemu-system-common, or set helper = "/path/to/qemu-bridge-helper"',
            )
        if os.geteuid() != 0 and not helper_privileged(helper):
            raise PreflightError(
                f"{helper} is neither setuid root nor has CAP_NET_ADMIN, and vmrun is not root: it cannot make taps",
                source=profile.source,
                field=f"{field}.helper",
                hint=f"chmod u+s {helper} (as root), or run as root",
            )
        verdict = bridgeacl.check(bridge, helper)
        if not verdict.allowed:
            raise PreflightError(
                f"qemu-bridge-helper would refuse bridge {bridge!r}: {verdict.reason}",
                source=profile.source,
                field=bridge_key,
                hint=f"add the line \"allow {bridge}\" to {verdict.conf}: echo 'allow {bridge}' >> {verdict.conf}"
                + (
                    f'; or, as root, via = "tap" in {field}: vmrun makes the tap itself, no ACL needed'
                    if os.geteuid() == 0
                    else ""
                ),
            )

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        bridge = self.bridge_of(nic, ctx.profile)
        if resolve_via(nic) is Via.HELPER:
            spec = self.describe(nic, ctx.profile)
            vhost = tap.vhost_wanted(nic)
            options = tuple((k, vhost if k == "vhost" else v) for k, v in spec.options)
            return PreparedNic(
                nic,
                NetdevSpec("tap", options, spec.device_options),
                host={"bridge": bridge, "via": "helper", "vhost": vhost},
            )
        t = tap.make_tap(nic, ctx, bridge=bridge)
        spec = NetdevSpec("tap", t.netdev_options(), tap.device_options(nic))
        return PreparedNic(
            nic, spec, tuple(t.fds), host={"tap": t.name, "bridge": bridge, "via": "tap", "vhost": t.vhost}
        )


BACKEND = BridgeBackend()
