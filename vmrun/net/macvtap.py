"""``type = "macvtap"``: a macvtap on ``parent``, its character device opened by vmrun and passed as fds.

The guest sits on the parent's own segment with its own MAC. The host itself
cannot reach it that way (macvtap never loops the parent's traffic back to its
macvtaps); other machines on that segment can.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from vmrun.errors import HostNetError, PreflightError
from vmrun.net import tap
from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic, nic_field
from vmrun.net.hostobj import Link
from vmrun.profile.model import Nic, Profile


def note(parent: str) -> str:
    return f"this host cannot reach the guest over macvtap (by design); other machines on {parent}'s segment can"


def device_number(name: str) -> int:
    """The macvtap's char device, from sysfs.

    Not /dev/tapIFINDEX by name: ifindexes are per namespace, so that node may
    be another namespace's macvtap.
    """
    found = sorted(Path(f"/sys/class/net/{name}/macvtap").glob("tap*/dev"))
    if not found:
        raise HostNetError(f"{name}: no macvtap character device in /sys/class/net/{name}/macvtap")
    major, minor = found[0].read_text().strip().split(":")
    return os.makedev(int(major), int(minor))


def open_device(name: str, ifindex: int, folder: Path, queues: int) -> list[int]:
    """One fd per queue on the macvtap's device, through a node only root can see, removed at once."""
    rdev = device_number(name)
    node = folder / f"{name}.dev"
    try:
        os.mknod(node, stat.S_IFCHR | 0o600, rdev)
        try:
            return _open_all(node, rdev, queues)
        finally:
            node.unlink()
    except OSError as e:
        # EACCES: the folder is on a nodev mount (/run usually is); EPERM: no CAP_MKNOD (a container).
        if e.errno not in (errno.EACCES, errno.EPERM):
            raise HostNetError(f"cannot open the device of macvtap {name}: {e.strerror}") from None
    # Then devtmpfs's node, but only if it is this macvtap's device.
    try:
        return _open_all(Path(f"/dev/tap{ifindex}"), rdev, queues)
    except OSError as e:
        raise HostNetError(
            f"cannot open the device of macvtap {name}: {e.strerror}",
            hint=f"{folder} is on a nodev mount and /dev/tap{ifindex} is not {name}'s device",
        ) from None


def _open_all(path: Path, rdev: int, queues: int) -> list[int]:
    fds: list[int] = []
    try:
        for _ in range(queues):
            fds.append(os.open(path, os.O_RDWR | os.O_CLOEXEC))
            if os.fstat(fds[-1]).st_rdev != rdev:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return fds


class MacvtapBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        # Only an fd reaches a macvtap, and only `up` opens one: the placeholder names what goes there,
        # and QEMU, if run as shown, stops at it ("Invalid file descriptor number") instead of guessing.
        name = tap.link_name(profile.name, nic.id, kind="m")
        multi = bool(nic.queues and nic.queues > 1)
        return NetdevSpec(
            "tap",
            (("fds" if multi else "fd", f"FD-OF-MACVTAP-{name}"), ("vhost", tap.vhost_as_said(nic))),
            tap.device_options(nic),
        )

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        assert nic.parent is not None
        tap.check_ifname(nic.parent, profile, f"{field}.parent")
        if not os.path.isdir(f"/sys/class/net/{nic.parent}"):
            raise PreflightError(
                f"there is no network interface {nic.parent!r} for the macvtap to sit on",
                source=profile.source,
                field=f"{field}.parent",
                hint='name the host\'s uplink (see `ip -br link`), e.g. parent = "eth0"',
            )
        if os.geteuid() != 0:
            raise PreflightError(
                'type = "macvtap" needs root (it creates a network interface)',
                source=profile.source,
                field=f"{field}.type",
                hint="run vmrun as root",
            )
        tap.check_vhost(nic, profile, field)

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        from vmrun.adapters import netlink

        assert nic.parent is not None
        name = tap.link_name(ctx.profile.name, nic.id, kind="m")
        tap.refuse_existing(name)
        vhost = tap.vhost_wanted(nic)
        ifindex = netlink.create_macvtap(name, nic.parent, nic.mode.value, nic.mac)
        ctx.made(Link(name=name, ifindex=ifindex, link_kind="macvtap"))
        fds = open_device(name, ifindex, ctx.run_dir, nic.queues or 1)
        ctx.own_fds(fds)
        # A fd count is the queue count: QEMU refuses queues= next to fds=.
        spec = NetdevSpec("tap", tap.Tap(name, fds, vhost).netdev_options(), tap.device_options(nic))
        host = {"macvtap": name, "parent": nic.parent, "mode": nic.mode.value, "vhost": vhost, "note": note(nic.parent)}
        return PreparedNic(nic, spec, tuple(fds), host=host)


BACKEND = MacvtapBackend()
