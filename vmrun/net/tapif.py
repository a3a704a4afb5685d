"""``type = "tap"``: a tap that exists (made by the admin or a script), or one QEMU makes and hands to its script.

vmrun makes nothing here and so releases nothing: a tap it did not make is
never deleted, however the VM ends.
"""

from __future__ import annotations

import os

from vmrun import trust
from vmrun.errors import PreflightError
from vmrun.net import tap
from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic, nic_field
from vmrun.profile.model import Nic, Profile


def _lead(nic: Nic) -> tuple[tuple[str, object], ...]:
    # QEMU runs /etc/qemu-ifup on a tap it makes unless told otherwise: say exactly what the profile says.
    return (("ifname", nic.ifname), ("script", nic.script or "no"), ("downscript", nic.downscript or "no"))


class TapBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        return tap.shown_netdev(nic, _lead(nic))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        tap.check_vhost(nic, profile, field)
        trust.check_program(nic.script, source=profile.source, field=f"{field}.script")
        trust.check_program(nic.downscript, source=profile.source, field=f"{field}.downscript")
        if nic.ifname and nic.script is None and not os.path.exists(f"/sys/class/net/{nic.ifname}"):
            raise PreflightError(
                f"there is no tap {nic.ifname} on this host",
                source=profile.source,
                field=f"{field}.ifname",
                hint=f"make it first (ip tuntap add dev {nic.ifname} mode tap), or give script = ... "
                "to let QEMU make it",
            )

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        spec = tap.shown_netdev(nic, _lead(nic), vhost=tap.vhost_wanted(nic))
        return PreparedNic(nic, spec, host={"tap": nic.ifname or "(made by QEMU)", "script": nic.script or "no"})


BACKEND = TapBackend()
