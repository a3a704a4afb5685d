"""``type = "netdev"``: any other QEMU network backend (socket, stream, dgram, vde...), its options verbatim.

QEMU makes and unmakes whatever the backend needs; vmrun only names the NIC,
so `nic list`, `ps` and `nic del` see it.
"""

from __future__ import annotations

from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic
from vmrun.profile.fields import netdev_pairs
from vmrun.profile.model import Nic, Profile


class NetdevBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        assert nic.backend is not None
        return NetdevSpec(nic.backend, tuple(netdev_pairs(nic.options or "")))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        pass

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        return PreparedNic(nic, self.describe(nic, ctx.profile), host={"backend": nic.backend, "options": nic.options})


BACKEND = NetdevBackend()
