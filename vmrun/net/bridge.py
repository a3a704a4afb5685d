"""``type = "bridge"``: a tap on an existing Linux bridge, made by ``qemu-bridge-helper``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vmrun.errors import PreflightError
from vmrun.net.base import NetdevSpec, PreparedNic, PrepareContext
from vmrun.profile.model import Nic, Profile, Vhost

HELPER_PLACES = ("/usr/lib/qemu/qemu-bridge-helper", "/usr/libexec/qemu-bridge-helper", "/usr/local/libexec/qemu-bridge-helper")


def find_helper(nic: Nic) -> str:
    if nic.helper:
        return nic.helper
    for place in HELPER_PLACES:
        if os.access(place, os.X_OK):
            return place
    return shutil.which("qemu-bridge-helper") or HELPER_PLACES[0]


def vhost_value(nic: Nic) -> bool | None:
    """``on``/``off`` are passed as said; ``auto`` asks for vhost only when /dev/vhost-net opens."""
    if nic.vhost is Vhost.AUTO:
        try:
            os.close(os.open("/dev/vhost-net", os.O_RDWR))
        except OSError:
            return None
        return True
    return nic.vhost is Vhost.ON


class BridgeHelperBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        options = (("br", nic.bridge), ("helper", find_helper(nic)), ("vhost", vhost_value(nic)), ("queues", nic.queues))
        return NetdevSpec("tap", options)

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = f"nics[{[n.id for n in profile.nics].index(nic.id)}]"
        if not Path(f"/sys/class/net/{nic.bridge}/bridge").is_dir():
            raise PreflightError(
                f"there is no Linux bridge {nic.bridge!r} on this host",
                source=profile.source,
                field=f"{field}.bridge",
                hint=f"create it (ip link add {nic.bridge} type bridge && ip link set {nic.bridge} up) or fix the name",
            )
        helper = find_helper(nic)
        if not os.access(helper, os.X_OK):
            raise PreflightError(
                f"qemu-bridge-helper not found at {helper}",
                source=profile.source,
                field=f"{field}.helper",
                hint="install qemu-system-common or set helper = \"/path/to/qemu-bridge-helper\"",
            )

    @contextmanager
    def prepare(self, nic: Nic, ctx: PrepareContext) -> Iterator[PreparedNic]:
        spec = self.describe(nic, ctx.profile)
        vhost = dict(spec.options).get("vhost")
        yield PreparedNic(nic, spec, host={"bridge": nic.bridge, "via": "helper", "vhost": bool(vhost)})


BACKEND = BridgeHelperBackend()
