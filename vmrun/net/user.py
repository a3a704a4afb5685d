"""``type = "user"``: QEMU's own user networking (slirp) with port forwards; nothing on the host."""

from __future__ import annotations

from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic, nic_field
from vmrun.preflight import check_port_free
from vmrun.profile.model import Nic, Profile


class UserBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        options: list[tuple[str, object]] = [("net", nic.net)]
        if nic.restrict:
            options.append(("restrict", True))
        options += [("hostfwd", str(fwd)) for fwd in nic.hostfwd]
        return NetdevSpec("user", tuple(options))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        for i, fwd in enumerate(nic.hostfwd):
            check_port_free(fwd, source=profile.source, field=f"{nic_field(profile, nic)}.hostfwd[{i}]")

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        return PreparedNic(nic, self.describe(nic, ctx.profile), host={"forwards": [str(f) for f in nic.hostfwd]})


BACKEND = UserBackend()
