"""The boot-time configuration of a bridge over a NIC, for NetworkManager (nmcli) or systemd-networkd.

Printed as a shell script to review and run, never run by vmrun: it is
written from the addresses and routes the NIC (or, once bridged, the bridge)
has now, so that the bridge comes back the same after a reboot.
"""

from __future__ import annotations

import shlex
import socket

from vmrun.errors import ProfileError
from vmrun.hostnet import linux_bridge

TOOLS = ("nmcli", "networkd")
# Routes a DHCP client or router advertisements made: the booted bridge's own client makes them again.
DYNAMIC_PROTOS = (9, 16)  # RTPROT_RA, RTPROT_DHCP
NETWORKD_DIR = "/etc/systemd/network"


def render(tool: str, bridge: str, uplink: str, *, stp: bool = False) -> str:
    from vmrun.adapters import netlink
    from vmrun.hostnet import ipmove

    if tool not in TOOLS:
        raise ProfileError(f"--print-config: {tool!r} is not one of {' | '.join(TOOLS)}")
    linux_bridge.check_names(bridge, uplink)
    if not linux_bridge.exists(uplink):
        raise ProfileError(f"--uplink: there is no network interface {uplink!r}", hint="ip link lists them")
    # Already bridged live (vmrun net bridge): the bridge holds what the NIC had.
    master = netlink.link(uplink).master
    source = bridge if master and netlink.link_name(master) == bridge else uplink
    snap = ipmove.snapshot(source)
    mac = netlink.link(uplink).mac
    header = (
        f"# {bridge}: a bridge over {uplink} with {snap.describe()}\n"
        f"# (from {source} now; written by vmrun net bridge --print-config {tool}). Review, then run as root.\n"
    )
    return header + (
        _nmcli(bridge, uplink, mac, stp, snap) if tool == "nmcli" else _networkd(bridge, uplink, mac, stp, snap)
    )


def _split(snap, family: int):
    addrs = [a for a in snap.addresses if a.family == family]
    routes = [r for r in snap.routes if r.family == family and r.proto not in DYNAMIC_PROTOS]
    default = next((r for r in routes if r.dst_len == 0 and r.table == 254), None)
    others = [r for r in routes if r is not default]
    return addrs, default, others


def _nmcli(bridge: str, uplink: str, mac: str, stp: bool, snap) -> str:
    q = shlex.quote
    args = [
        "nmcli",
        "connection",
        "add",
        "type",
        "bridge",
        "con-name",
        bridge,
        "ifname",
        bridge,
        "bridge.stp",
        "yes" if stp else "no",
        "ethernet.cloned-mac-address",
        mac,
        "connection.autoconnect-slaves",
        "yes",
    ]
    if stp:
        args += ["bridge.forward-delay", "2"]
    for family, v in ((socket.AF_INET, "ipv4"), (socket.AF_INET6, "ipv6")):
        addrs, default, others = _split(snap, family)
        if not addrs and not default:
            args += [f"{v}.method", "disabled" if v == "ipv4" else "auto"]
        elif any(a.dynamic for a in addrs):
            args += [f"{v}.method", "auto"]
        else:
            args += [f"{v}.method", "manual", f"{v}.addresses", ",".join(str(a) for a in addrs)]
            if default:
                args += [f"{v}.gateway", default.gateway or ""]
                if default.priority:
                    args += [f"{v}.route-metric", str(default.priority)]
        if others:
            args += [f"{v}.routes", ", ".join(_nm_route(r) for r in others)]
    lines = [
        f"# The connection that owns {uplink} now must let go of it at boot; find it with",
        f"#   nmcli -g GENERAL.CONNECTION device show {q(uplink)}",
        "# and then: nmcli connection modify THAT-ONE connection.autoconnect no",
        " ".join(q(a) for a in args),
        " ".join(
            q(a)
            for a in [
                "nmcli",
                "connection",
                "add",
                "type",
                "bridge-slave",
                "con-name",
                f"{bridge}-port-{uplink}",
                "ifname",
                uplink,
                "master",
                bridge,
            ]
        ),
        f"nmcli connection up {q(bridge)}",
    ]
    return "\n".join(lines) + "\n"


def _nm_route(r) -> str:
    dst = f"{r.dst}/{r.dst_len}" if r.dst_len else ("0.0.0.0/0" if r.family == socket.AF_INET else "::/0")
    words = [dst] + ([r.gateway] if r.gateway else [])
    if r.priority:
        words.append(str(r.priority))
    if r.table != 254:
        words.append(f"table={r.table}")
    if r.prefsrc:
        words.append(f"src={r.prefsrc}")
    mtu = dict(r.metrics).get("RTAX_MTU")
    if mtu:
        words.append(f"mtu={mtu}")
    return " ".join(words)


def _networkd(bridge: str, uplink: str, mac: str, stp: bool, snap) -> str:
    netdev = f"[NetDev]\nName={bridge}\nKind=bridge\nMACAddress={mac}\n\n[Bridge]\nSTP={'yes' if stp else 'no'}\n"
    if stp:
        netdev += "ForwardDelaySec=2\n"
    port = f"[Match]\nName={uplink}\n\n[Network]\nBridge={bridge}\n"
    network = f"[Match]\nName={bridge}\n\n[Network]\n"
    dhcp = []
    for family, v in ((socket.AF_INET, "ipv4"), (socket.AF_INET6, "ipv6")):
        addrs, _, _ = _split(snap, family)
        if any(a.dynamic for a in addrs):
            dhcp.append(v)
        else:
            network += "".join(f"Address={a}\n" for a in addrs)
    if dhcp:
        network += f"DHCP={'yes' if len(dhcp) == 2 else dhcp[0]}\n"
    for r in snap.routes:
        if r.proto in DYNAMIC_PROTOS:
            continue
        network += "\n[Route]\n"
        if r.dst_len:
            network += f"Destination={r.dst}/{r.dst_len}\n"
        if r.gateway:
            network += f"Gateway={r.gateway}\n"
        if r.priority:
            network += f"Metric={r.priority}\n"
        if r.table != 254:
            network += f"Table={r.table}\n"
        if r.prefsrc:
            network += f"PreferredSource={r.prefsrc}\n"
        if dict(r.metrics).get("RTAX_MTU"):
            network += f"MTUBytes={dict(r.metrics)['RTAX_MTU']}\n"
    files = [
        (f"10-{bridge}.netdev", netdev),
        (f"10-{bridge}-port-{uplink}.network", port),
        (f"10-{bridge}.network", network),
    ]
    out = [
        f"# {NETWORKD_DIR}: the first .network file (in name order) that matches {uplink} wins;",
        f"# the one that configures {uplink} now must not match it any more.",
    ]
    for name, text in files:
        out.append(f"cat > {NETWORKD_DIR}/{name} <<'EOF'\n{text}EOF")
    out.append("networkctl reload")
    return "\n".join(out) + "\n"
