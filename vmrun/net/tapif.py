"""``type = "tap"``: a tap that exists (made by the admin or a script), or one QEMU makes and hands to its script.

vmrun makes nothing here and so releases nothing: a tap it did not make is
never deleted, however the VM ends.
"""

from __future__ import annotations

from vmrun.errors import PreflightError
from vmrun.net.base import NetdevSpec, PreparedNic, PrepareContext, nic_field
from vmrun.net.tap import check_vhost, vhost_wanted
from vmrun.profile.model import Nic, Profile, Vhost


class TapBackend:
    def describe(self, nic: Nic, profile: Profile, *, vhost: bool | None = None) -> NetdevSpec:
        options: list[tuple[str, object]] = [("ifname", nic.ifname)]
        # QEMU runs /etc/qemu-ifup on a tap it makes unless told otherwise: say exactly what the profile says.
        options += [("script", nic.script or "no"), ("downscript", nic.downscript or "no")]
        if nic.queues and nic.queues > 1:
            options.append(("queues", nic.queues))
        on = nic.vhost is Vhost.ON if vhost is None else vhost
        if on:
            options.append(("vhost", True))
        device: tuple[tuple[str, object], ...] = ()
        if nic.queues and nic.queues > 1:
            device = (("mq", True), ("vectors", 2 * nic.queues + 2))
        return NetdevSpec("tap", tuple(options), device)

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        check_vhost(nic, profile, field)
        if nic.ifname and nic.script is None:
            import os

            if not os.path.exists(f"/sys/class/net/{nic.ifname}"):
                raise PreflightError(
                    f"there is no tap {nic.ifname} on this host",
                    source=profile.source,
                    field=f"{field}.ifname",
                    hint=f"make it first (ip tuntap add dev {nic.ifname} mode tap), or give script = ... "
                    "to let QEMU make it",
                )

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        spec = self.describe(nic, ctx.profile, vhost=vhost_wanted(nic))
        host = {"tap": nic.ifname or "(made by QEMU)", "script": nic.script or "no"}
        return PreparedNic(nic, spec, host=host)


BACKEND = TapBackend()
