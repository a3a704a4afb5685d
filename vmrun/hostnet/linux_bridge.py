"""Linux bridges: one made over a host NIC (taking over its addresses and routes), and the ones there are.

Making one is live only: it is gone at reboot. ``vmrun net bridge --print-config``
prints what NetworkManager or systemd-networkd needs to make it at boot.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vmrun.errors import HostNetError, ProfileError, StateError
from vmrun.hostnet import spec

SYS = Path("/sys/class/net")


def exists(name: str) -> bool:
    return (SYS / name).exists()


def is_bridge(name: str) -> bool:
    return (SYS / name / "bridge").is_dir()


def is_tap(name: str) -> bool:
    return (SYS / name / "tun_flags").exists()


def ports(bridge: str) -> list[str]:
    try:
        return sorted(os.listdir(SYS / bridge / "brif"))
    except OSError:
        return []


def bridges() -> list[str]:
    try:
        return sorted(n for n in os.listdir(SYS) if is_bridge(n))
    except OSError:
        return []


def check_names(bridge: str, uplink: str | None) -> None:
    for option, name in (("BRIDGE", bridge), ("--uplink", uplink)):
        if name is not None:
            try:
                spec.check_ifname(name)
            except ValueError as e:
                raise ProfileError(f"{option}: {e}") from None


def create(name: str, uplink: str | None, *, stp: bool = False, notice: Callable[[str], None] = lambda _: None) -> str:
    """Make bridge ``name`` over ``uplink`` (which hands over its addresses and routes); a summary line."""
    from vmrun.adapters import netlink
    from vmrun.hostnet import ipmove

    check_names(name, uplink)
    if exists(name):
        what = "a bridge" if is_bridge(name) else "an interface"
        raise StateError(f"there is {what} named {name!r} already", hint="vmrun net list shows the bridges")
    if uplink is None:
        netlink.create_bridge(name, mac=_random_mac(), mtu=1500, stp=stp)
        return f"{name}: bridge made, with no uplink"
    check_uplink(uplink)
    snap = ipmove.snapshot(uplink)
    netlink.create_bridge(name, mac=snap.mac, mtu=snap.mtu, stp=stp)
    try:
        ipmove.move(snap, name, lambda: netlink.set_master(uplink, name), lambda: _detach(uplink))
    except BaseException:
        netlink.delete_link(name)
        raise
    for a in snap.addresses:
        if a.dynamic:
            notice(f"{a} had a lease (DHCP or SLAAC): {name} holds it now without one; run the DHCP client on {name}")
    if stp:
        notice(f"STP is on: {name} forwards after the listening and learning states (about 4 s)")
    moved = f"moved {snap.describe()}" if snap.addresses or snap.routes else f"{uplink} had no addresses to move"
    return f"{name}: bridge over {uplink} (MAC {snap.mac}); {moved}"


def check_uplink(uplink: str) -> None:
    from vmrun.adapters import netlink

    if not exists(uplink):
        raise StateError(f"there is no network interface {uplink!r}", hint="ip link lists them")
    if is_bridge(uplink):
        raise StateError(f"{uplink} is a bridge itself; give the NIC it should go over")
    master = netlink.link(uplink).master
    if master:
        raise StateError(
            f"{uplink} is already a port of {netlink.link_name(master) or master}",
            hint="a NIC can be on one bridge only",
        )


def _detach(uplink: str) -> None:
    from vmrun.adapters import netlink

    if netlink.link(uplink).master:
        netlink.set_master(uplink, None)


def _random_mac() -> str:
    # Locally administered, unicast: the kernel would pick a random one too, but then change
    # it to the lowest port's MAC when a port joins; a set one stays.
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


def listing() -> list[dict[str, Any]]:
    """Each Linux bridge: its ports, its uplink (a port that is not a tap: a NIC, a veth), its addresses."""
    from vmrun.adapters import netlink

    out = []
    for name in bridges():
        members = ports(name)
        try:
            addrs = [str(a) for a in netlink.addresses(name)]
        except HostNetError:  # gone since it was listed
            continue
        uplink = next((p for p in members if not is_tap(p)), None)
        out.append({"name": name, "uplink": uplink, "ports": members, "addresses": addrs})
    return out
