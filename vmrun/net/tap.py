"""Taps that vmrun makes itself: opened on /dev/net/tun and handed to QEMU as fds.

We create the tap by opening it (TUNSETIFF) rather than as a persistent link:
it then lives exactly as long as an fd to it is open, so even a QEMU killed
with SIGKILL cannot leak it. It is recorded all the same, and deleted on exit.
"""

from __future__ import annotations

import fcntl
import os
import struct
from dataclasses import dataclass

from vmrun.errors import HostNetError, PreflightError
from vmrun.net.base import NetdevSpec, PrepareContext
from vmrun.net.hostobj import Link
from vmrun.profile.model import Nic, Profile, Vhost

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFF_MULTI_QUEUE = 0x0100
IFNAMSIZ = 16


def link_name(vm: str, nic_id: str, kind: str = "t") -> str:
    """A name that fits the kernel's 15 bytes, readable when it can be: ``vr-demo-net1``."""
    readable = f"vr-{vm}-{nic_id}"
    if len(readable) < IFNAMSIZ and kind == "t":
        return readable
    import hashlib  # here, not at the top: it costs `vmrun up` 2 ms to import

    digest = hashlib.sha256(f"{vm}/{nic_id}".encode()).hexdigest()[:8]
    return f"vr{kind}{digest}"


def vhost_wanted(nic: Nic) -> bool:
    """``auto`` turns vhost on only when /dev/vhost-net opens (QEMU 7.2 aborts otherwise)."""
    if nic.vhost is Vhost.OFF:
        return False
    available = vhost_available()
    if nic.vhost is Vhost.ON and not available:
        raise HostNetError('vhost = "on" but /dev/vhost-net cannot be opened')
    return available


def vhost_available() -> bool:
    try:
        os.close(os.open("/dev/vhost-net", os.O_RDWR))
    except OSError:
        return False
    return True


def check_vhost(nic: Nic, profile: Profile, field: str) -> None:
    if nic.vhost is Vhost.ON and not vhost_available():
        raise PreflightError(
            'vhost = "on" but /dev/vhost-net cannot be opened (QEMU would abort)',
            source=profile.source,
            field=f"{field}.vhost",
            hint='modprobe vhost_net, or write vhost = "auto" to use it only where it exists',
        )


def open_tap(name: str, queues: int = 1, *, vnet_hdr: bool = True) -> list[int]:
    """Create (or attach to) tap ``name`` and return one fd per queue.

    Without ``vnet_hdr`` QEMU cannot hand the kernel frames with checksums left to fill in.
    """
    flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0) | (IFF_MULTI_QUEUE if queues > 1 else 0)
    fds: list[int] = []
    try:
        for _ in range(queues):
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
            fds.append(fd)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
    except OSError as e:
        for fd in fds:
            os.close(fd)
        raise HostNetError(f"cannot create tap {name}: {e.strerror}") from None
    return fds


@dataclass
class Tap:
    name: str
    fds: list[int]
    vhost: bool

    def netdev_options(self) -> tuple[tuple[str, object], ...]:
        # One fd per queue says how many queues there are; QEMU refuses queues= beside fds=.
        fds = ("fd", str(self.fds[0])) if len(self.fds) == 1 else ("fds", ":".join(map(str, self.fds)))
        return (fds, ("vhost", self.vhost))


def device_options(nic: Nic) -> tuple[tuple[str, object], ...]:
    """Multi-queue needs the device told too: mq=on and 2N+2 MSI-X vectors."""
    if nic.queues and nic.queues > 1:
        return (("mq", True), ("vectors", 2 * nic.queues + 2))
    return ()


def vhost_as_said(nic: Nic) -> bool | None:
    """vhost for `vmrun show`: as the profile says it, left to QEMU for ``auto``."""
    return None if nic.vhost is Vhost.AUTO else nic.vhost is Vhost.ON


def shown_netdev(nic: Nic, lead: tuple[tuple[str, object], ...], vhost: bool | None = None) -> NetdevSpec:
    """A tap -netdev: ``lead`` says how QEMU reaches the tap; ``vhost`` as decided, else as the profile says it."""
    queues = nic.queues if nic.queues and nic.queues > 1 else None
    vhost = vhost_as_said(nic) if vhost is None else vhost
    return NetdevSpec("tap", (*lead, ("vhost", vhost), ("queues", queues)), device_options(nic))


def by_name(profile: Profile, nic: Nic) -> tuple[tuple[str, object], ...]:
    """What `up` passes is an fd vmrun opened; `show` can only name the tap."""
    return (("ifname", link_name(profile.name, nic.id)), ("script", "no"), ("downscript", "no"))


def refuse_existing(name: str) -> None:
    from vmrun.adapters import netlink

    if netlink.ifindex(name) is not None:
        raise HostNetError(
            f"a network interface {name} exists already", hint="is another VM of this name running? see vmrun ps"
        )


def make_tap(nic: Nic, ctx: PrepareContext, *, bridge: str | None, vnet_hdr: bool = True) -> Tap:
    """A tap for ``nic``, on ``bridge`` if given, recorded before it is used."""
    from vmrun.adapters import netlink

    name = link_name(ctx.profile.name, nic.id)
    refuse_existing(name)
    vhost = vhost_wanted(nic)
    fds = open_tap(name, nic.queues or 1, vnet_hdr=vnet_hdr)
    ctx.own_fds(fds)
    ctx.made(Link(name=name, ifindex=netlink.ifindex(name) or 0, link_kind="tap"))
    netlink.set_master_up(name, bridge)
    return Tap(name, fds, vhost)


def check_ifname(name: str, profile: Profile, field: str) -> None:
    """A profile's interface name is used in /sys paths and as a command's argument: keep it a plain name."""
    plain = 0 < len(name.encode()) < IFNAMSIZ and name not in (".", "..") and not name.startswith("-")
    if not plain or any(c in "/:\0" or c.isspace() for c in name):
        raise PreflightError(
            f"{name!r} is not a network interface name (at most {IFNAMSIZ - 1} bytes, no '/', ':' or spaces)",
            source=profile.source,
            field=field,
        )
