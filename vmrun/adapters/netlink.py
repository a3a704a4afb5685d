"""The one adapter to netlink (pyroute2): links by name, bridges, macvtaps, addresses and routes.

Imported lazily by the backends that need it. Deleting tolerates "already gone" (ENODEV) and
nothing else.
"""

from __future__ import annotations

import errno
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from vmrun.errors import HostNetError


def _import_iproute() -> tuple[type, type]:
    """pyroute2's IPRoute and NetlinkError, without its package ``__init__``.

    That ``__init__`` imports every pyroute2 API (NDB, IPDB, conntrack, nftables, WireGuard...):
    ~100 ms of each `vmrun nic add` or `up` with a tap, against ~40 ms for the modules IPRoute
    needs. For the import, ``pyroute2`` is an empty package object with the real search path;
    afterwards it is taken out again, so that a later ``import pyroute2`` (ours or a caller's)
    runs the real ``__init__`` over the submodules already loaded.
    """
    if "pyroute2" in sys.modules:
        from pyroute2.iproute.linux import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError
    else:
        import importlib.util

        spec = importlib.util.find_spec("pyroute2")
        assert spec is not None, "pyroute2 is not installed"
        sys.modules["pyroute2"] = importlib.util.module_from_spec(spec)  # its __path__, not its __init__
        try:
            from pyroute2.iproute.linux import IPRoute
            from pyroute2.netlink.exceptions import NetlinkError
        finally:
            del sys.modules["pyroute2"]
    return IPRoute, NetlinkError


IPRoute, NetlinkError = _import_iproute()


def _ipr() -> IPRoute:
    return IPRoute()


def ifindex(name: str) -> int | None:
    try:
        return int(Path(f"/sys/class/net/{name}/ifindex").read_text())
    except (OSError, ValueError):
        return None


def is_bridge(name: str) -> bool:
    return Path(f"/sys/class/net/{name}/bridge").is_dir()


def set_master_up(name: str, bridge: str | None) -> None:
    """Enslave ``name`` to ``bridge`` (if given) and bring it up."""
    with _ipr() as ipr:
        index = _lookup(ipr, name)
        try:
            if bridge is not None:
                master = _lookup(ipr, bridge)
                ipr.link("set", index=index, master=master)
            ipr.link("set", index=index, state="up")
        except NetlinkError as e:
            raise HostNetError(f"{name}: cannot attach to {bridge}: {e.args[-1]}") from None


def create_macvtap(name: str, parent: str, mode: str, mac: str) -> int:
    with _ipr() as ipr:
        link = _lookup(ipr, parent)
        try:
            ipr.link("add", ifname=name, kind="macvtap", link=link, macvtap_mode=mode, address=mac)
        except NetlinkError as e:
            raise HostNetError(f"cannot create macvtap {name} on {parent}: {e.args[-1]}") from None
        index = _lookup(ipr, name)
        try:
            ipr.link("set", index=index, state="up")
        except NetlinkError as e:
            # Not recorded yet: the caller could not undo it.
            ipr.link("del", index=index)
            raise HostNetError(f"cannot bring macvtap {name} up: {e.args[-1]}") from None
        return index


def delete_link(name: str, expected_index: int | None = None) -> bool:
    """Delete a link we made; False if it was already gone or is no longer ours (another ifindex)."""
    with _ipr() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found or (expected_index is not None and found[0] != expected_index):
            return False
        try:
            ipr.link("del", index=found[0])
        except NetlinkError as e:
            if e.code == errno.ENODEV:
                return False
            raise HostNetError(f"cannot delete {name}: {e.args[-1]}") from None
        return True


def _lookup(ipr: IPRoute, name: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise HostNetError(f"no network interface {name!r}")
    return found[0]


# --- Moving an uplink's IP configuration onto a bridge (vmrun net bridge) ---

IFA_F_TEMPORARY = 0x01  # an IPv6 privacy address: the kernel makes its own on the new link
IFA_F_NODAD = 0x02
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MANAGETEMPADDR = 0x100
RT_TABLE_LOCAL = 255
RTPROT_KERNEL = 2  # routes the kernel derives from addresses: they follow the addresses
FOREVER = 0xFFFFFFFF


def _ipr_ack() -> IPRoute:
    """With the kernel's own reason for a refusal ("IPv6 is disabled on this device"), not only errno's."""
    return IPRoute(ext_ack=True)


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    mac: str
    mtu: int
    master: int | None
    kind: str | None


@dataclass(frozen=True)
class Address:
    family: int
    address: str
    prefixlen: int
    scope: int
    flags: int
    broadcast: str | None
    dynamic: bool  # has a lifetime: DHCP or SLAAC gave it

    def __str__(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True)
class Route:
    family: int
    dst: str | None
    dst_len: int
    table: int
    proto: int
    scope: int
    type: int
    flags: int
    gateway: str | None = None
    priority: int | None = None
    prefsrc: str | None = None
    metrics: tuple[tuple[str, int], ...] = ()
    pref: int | None = None

    def __str__(self) -> str:
        words = [f"{self.dst}/{self.dst_len}" if self.dst_len else "default"]
        if self.gateway:
            words.append(f"via {self.gateway}")
        if self.priority:
            words.append(f"metric {self.priority}")
        if self.table not in (254, 0):
            words.append(f"table {self.table}")
        return " ".join(words)


def link(name: str) -> Link:
    with _ipr_ack() as ipr:
        [msg] = ipr.get_links(_lookup(ipr, name))
        info = msg.get_attr("IFLA_LINKINFO")
        return Link(
            index=msg["index"],
            name=name,
            mac=msg.get_attr("IFLA_ADDRESS"),
            mtu=msg.get_attr("IFLA_MTU"),
            master=msg.get_attr("IFLA_MASTER"),
            kind=info.get_attr("IFLA_INFO_KIND") if info is not None else None,
        )


def link_name(index: int) -> str | None:
    with _ipr_ack() as ipr:
        try:
            [msg] = ipr.get_links(index)
        except NetlinkError:
            return None
        return msg.get_attr("IFLA_IFNAME")


def addresses(name: str) -> list[Address]:
    """The addresses a bridge must take over: IPv4 ones but loopback-like (host scope), IPv6 global ones.

    IPv6 link-local and privacy addresses are the kernel's own: the bridge makes its own.
    """
    out = []
    with _ipr_ack() as ipr:
        for msg in ipr.get_addr(index=_lookup(ipr, name)):
            family, scope = msg["family"], msg["scope"]
            flags = msg.get_attr("IFA_FLAGS") or msg["flags"]
            if (family == socket.AF_INET and scope == 254) or (family == socket.AF_INET6 and scope != 0):
                continue
            if family == socket.AF_INET6 and flags & IFA_F_TEMPORARY:
                continue
            cache = msg.get_attr("IFA_CACHEINFO") or {}
            out.append(
                Address(
                    family=family,
                    address=msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS"),
                    prefixlen=msg["prefixlen"],
                    scope=scope,
                    flags=flags,
                    broadcast=msg.get_attr("IFA_BROADCAST"),
                    dynamic=cache.get("ifa_valid", FOREVER) != FOREVER,
                )
            )
    return out


def routes(name: str) -> tuple[list[Route], list[str]]:
    """The routes leaving through ``name`` that a bridge must take over, and those vmrun cannot move.

    Left out: the local table and the kernel's own routes (they follow the addresses).
    Multipath and encapsulated routes are not moved: the caller refuses to start.
    """
    movable, unmovable = [], []
    with _ipr_ack() as ipr:
        index = _lookup(ipr, name)
        for family in (socket.AF_INET, socket.AF_INET6):
            for msg in ipr.route("dump", family=family):
                table = msg.get_attr("RTA_TABLE") or msg["table"]
                if table == RT_TABLE_LOCAL or msg["proto"] == RTPROT_KERNEL:
                    continue
                nexthops = msg.get_attr("RTA_MULTIPATH") or []
                if any(nh["oif"] == index for nh in nexthops) or (
                    msg.get_attr("RTA_OIF") == index and msg.get_attr("RTA_ENCAP")
                ):
                    unmovable.append(_route(msg, table))
                    continue
                if msg.get_attr("RTA_OIF") != index:
                    continue
                movable.append(_route(msg, table))
    return movable, [str(r) for r in unmovable]


def _route(msg, table: int) -> Route:
    metrics = msg.get_attr("RTA_METRICS")
    return Route(
        family=msg["family"],
        dst=msg.get_attr("RTA_DST"),
        dst_len=msg["dst_len"],
        table=table,
        proto=msg["proto"],
        scope=msg["scope"],
        type=msg["type"],
        flags=msg["flags"],
        gateway=msg.get_attr("RTA_GATEWAY"),
        priority=msg.get_attr("RTA_PRIORITY"),
        prefsrc=msg.get_attr("RTA_PREFSRC"),
        metrics=tuple((k, v) for k, v in metrics["attrs"]) if metrics is not None else (),
        pref=msg.get_attr("RTA_PREF"),
    )


def add_address(name: str, a: Address) -> None:
    """Add ``a`` to ``name`` as a permanent address; no DAD: it is the same host's own address, moving."""
    flags = (a.flags & IFA_F_MANAGETEMPADDR) | (IFA_F_NODAD if a.family == socket.AF_INET6 else 0)
    extra = {"broadcast": a.broadcast} if a.broadcast else {}
    with _ipr_ack() as ipr:
        try:
            ipr.addr(
                "add",
                index=_lookup(ipr, name),
                family=a.family,
                address=a.address,
                prefixlen=a.prefixlen,
                flags=flags,
                **extra,
            )
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise HostNetError(f"cannot add {a} to {name}: {e.args[-1]}") from None


def delete_address(name: str, a: Address) -> None:
    with _ipr_ack() as ipr:
        try:
            ipr.addr("del", index=_lookup(ipr, name), family=a.family, address=a.address, prefixlen=a.prefixlen)
        except NetlinkError as e:
            if e.code != errno.EADDRNOTAVAIL:
                raise HostNetError(f"cannot remove {a} from {name}: {e.args[-1]}") from None


def replace_route(route: Route, name: str) -> None:
    """Route ``route`` through ``name`` instead; "replace" swaps it in one step, so it is never missing."""
    kw = {
        k: v
        for k, v in (
            ("dst", route.dst),
            ("gateway", route.gateway),
            ("priority", route.priority),
            ("prefsrc", route.prefsrc),
            ("pref", route.pref),
        )
        if v is not None
    }
    if route.metrics:
        kw["metrics"] = dict(route.metrics)  # {"RTAX_MTU": 1400}: pyroute2 takes the names
    with _ipr_ack() as ipr:
        try:
            ipr.route(
                "replace",
                family=route.family,
                dst_len=route.dst_len,
                table=route.table,
                proto=route.proto,
                scope=route.scope,
                type=route.type,
                flags=route.flags,
                oif=_lookup(ipr, name),
                **kw,
            )
        except NetlinkError as e:
            raise HostNetError(f"cannot route {route} through {name}: {e.args[-1]}") from None


def create_bridge(name: str, *, mac: str, mtu: int, stp: bool) -> int:
    """A bridge with the uplink's MAC (DHCP servers, ARP caches and switch port security keep
    seeing the same host) and MTU, up; its ifindex. With STP, the kernel's shortest forward delay."""
    with _ipr_ack() as ipr:
        try:
            ipr.link("add", ifname=name, kind="bridge", br_stp_state=int(stp), br_forward_delay=200 if stp else 0)
        except NetlinkError as e:
            raise HostNetError(f"cannot create bridge {name}: {e.args[-1]}") from None
        index = _lookup(ipr, name)
        try:
            ipr.link("set", index=index, address=mac, mtu=mtu)
            ipr.link("set", index=index, state="up")
        except NetlinkError as e:
            ipr.link("del", index=index)
            raise HostNetError(f"cannot set up bridge {name}: {e.args[-1]}") from None
        return index


def set_master(name: str, master: str | None) -> None:
    """Enslave ``name`` to ``master``, or free it (None)."""
    with _ipr_ack() as ipr:
        index = _lookup(ipr, name)
        try:
            ipr.link("set", index=index, master=_lookup(ipr, master) if master else 0)
        except NetlinkError as e:
            what = f"attach {name} to {master}" if master else f"detach {name} from its bridge"
            raise HostNetError(f"cannot {what}: {e.args[-1]}") from None


def neighbours(name: str) -> list[tuple[str, str]]:
    """The host's neighbour table on link ``name`` (a bridge): (MAC, address) of each reachable or stale entry.

    An unknown link has no neighbours: a guest's bridge that is gone is not an error here.
    """
    index = ifindex(name)
    if index is None:
        return []
    out = []
    with _ipr_ack() as ipr:
        for msg in ipr.get_neighbours(ifindex=index):
            mac, dst = msg.get_attr("NDA_LLADDR"), msg.get_attr("NDA_DST")
            if mac and dst and not msg["state"] & 0x20:  # NUD_FAILED
                out.append((mac.lower(), dst))
    return out
