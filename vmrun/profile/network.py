"""A ``[[networks]]`` entry (or `vmrun net create`'s options) checked and completed, naming the key at fault.

The defaults are filled in here (gateway .1, DHCP .2 to the last host, a
bridge named after the network), so a profile and `vmrun net create` agree;
hostnet/spec.py builds libvirt's XML from what :func:`complete` returns.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from vmrun.profile.keys import NETWORKS, own_keys
from vmrun.profile.model import NetKind, Network

IFNAMSIZ = 16
KEYS = own_keys(NETWORKS)  # which keys each kind of network takes besides name and kind (from the records)


class SpecError(ValueError):
    """``key`` is the field the message is about (a profile key; the CLI turns it into its option)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def check_ifname(value: str) -> str:
    """A Linux interface name: the kernel's limits, and nothing a path or a command line could misread."""
    plain = 0 < len(value.encode()) < IFNAMSIZ and value not in (".", "..") and not value.startswith("-")
    if not plain or any(c in "/:\0" or c.isspace() for c in value):
        raise ValueError(
            f"{value!r} is not a network interface name (at most {IFNAMSIZ - 1} bytes, no '/', ':' or spaces)"
        )
    return value


def check_name(value: str) -> str:
    if not value or value.startswith("-") or any(c in "/\0" or c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a usable network name (no '/', no spaces)")
    return value


def default_bridge(name: str) -> str:
    """``vr-NAME``, cut to fit 15 bytes; a cut name gets a hash of the whole, so two long names differ."""
    import hashlib  # here, not at the top: only a network without a bridge name needs it

    plain = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    candidate = f"vr-{plain}"
    if len(candidate.encode()) < IFNAMSIZ and plain == name:
        return candidate
    digest = hashlib.sha256(name.encode()).hexdigest()[:4]
    return f"vr-{plain[:7]}-{digest}"


def gateway(subnet: str) -> str:
    return str(ipaddress.IPv4Network(subnet).network_address + 1)


def default_range(subnet: str) -> tuple[str, str]:
    net = ipaddress.IPv4Network(subnet)
    return str(net.network_address + 2), str(net.broadcast_address - 1)


def complete(net: Network) -> Network:
    """Checked, with the defaults filled in; raises SpecError naming the key."""
    try:
        check_name(net.name)
    except ValueError as e:
        raise SpecError("name", str(e)) from None
    if not net.kind.libvirt:
        try:
            check_ifname(net.name)
        except ValueError as e:
            raise SpecError("name", f"{e} (a {net.kind.value} network's name is its bridge's)") from None
    for key in NETWORKS.keys:  # `vmrun net create` gives all it has; only what applies may differ from its default
        if not key.applies(net.kind) and getattr(net, key.attr) != key.value_default:
            raise SpecError(key.name, f"does not apply to a network of kind {net.kind.value!r}")
    for key in ("bridge", "uplink"):
        value = getattr(net, key)
        if value is not None:
            try:
                check_ifname(value)
            except ValueError as e:
                raise SpecError(key, str(e)) from None
    if not net.kind.libvirt:
        return net
    if net.subnet is None and net.kind is not NetKind.ISOLATED:
        raise SpecError("subnet", f"a {net.kind.value} network needs a subnet, e.g. 192.168.128.0/24")
    if net.dhcp_range is not None:
        if net.subnet is None:
            raise SpecError("dhcp_range", "needs a subnet to be in")
        _check_range(net.subnet, net.dhcp_range)
    dhcp = net.dhcp_range or (default_range(net.subnet) if net.subnet else None)
    return replace(net, bridge=net.bridge or default_bridge(net.name), dhcp_range=dhcp)


def _check_range(subnet: str, dhcp: tuple[str, str]) -> None:
    net = ipaddress.IPv4Network(subnet)
    first, last = (ipaddress.IPv4Address(a) for a in dhcp)
    hosts = f"{net.network_address + 1}-{net.broadcast_address - 1}"
    if first not in net or last not in net or first == net.network_address or last == net.broadcast_address:
        raise SpecError("dhcp_range", f"{first}-{last} is not inside {subnet}'s hosts ({hosts})")
    gw = ipaddress.IPv4Address(gateway(subnet))
    if first <= gw <= last:
        raise SpecError("dhcp_range", f"{first}-{last} holds the host's own address {gw}; start it at {gw + 1}")
