"""A NIC's backend (``-netdev``, ``-nic``'s or ``-net``'s) into the NIC's keys: user, bridge, tap, macvtap, any other.

What vmrun has no key for is carried on the NIC as ``netdev_options``, verbatim,
and said in a note; only what cannot be known (a tap the caller opened) sinks the NIC.
"""

from __future__ import annotations

import re
from typing import Any

from vmrun.errors import ScriptError
from vmrun.importer import hostside
from vmrun.importer.expand import Field
from vmrun.importer.options import Mapper, Opt, Unfit, boolean, parse_opts
from vmrun.importer.substitute import MARKER
from vmrun.importer.unknowns import FD_HINT, fd_from_a_file
from vmrun.profile import fields

_HOSTFWD = re.compile(r"^(?:(tcp|udp):)?([^:]*):(\d+)-([^:]*):(\d+)$")
LINK_MAC = "address of the link"  # a mark, removed before the NIC is written


def backend(m: Mapper, opt: Opt, kind: str | None, nd: dict[str, str]) -> dict[str, Any]:
    if kind == "user":
        return _user(m, opt, nd)
    if kind == "bridge":
        nic = {"type": "bridge", "bridge": nd.pop("br", "br0"), "via": "helper"}  # QEMU's default bridge is br0
        if "helper" in nd:
            nic["helper"] = nd.pop("helper")
        return _carried(m, opt, nic, nd)
    if kind == "tap":
        return _tap(m, opt, nd)
    return _netdev(kind, nd)


def _netdev(kind: str | None, nd: dict[str, str]) -> dict[str, Any]:
    """Any other backend (socket, stream, dgram, vde...): QEMU makes it from its options, verbatim."""
    from vmrun.qemuopts import opts

    nd.pop("id", None)
    try:
        backend = fields.parse_netdev_backend(kind or "")
        options = fields.parse_netdev_options(opts(None, list(nd.items())))
    except ValueError as e:
        raise Unfit(str(e)) from None
    nic: dict[str, Any] = {"type": "netdev", "backend": backend}
    if options:
        nic["options"] = options
    nd.clear()
    return nic


def _user(m: Mapper, opt: Opt, nd: dict[str, str]) -> dict[str, Any]:
    nic: dict[str, Any] = {"type": "user"}
    forwards = []
    for key, value in parse_opts(opt.text, "type")[1]:
        if key == "hostfwd":
            forwards.append(_hostfwd(m, opt, value))
            nd.pop("hostfwd", None)
    if "net" in nd:
        nic["net"] = nd.pop("net")
    if "restrict" in nd:
        if boolean("restrict", nd.pop("restrict")):
            nic["restrict"] = True
    if forwards:
        nic["hostfwd"] = forwards
    return _carried(m, opt, nic, nd)


def _hostfwd(m: Mapper, opt: Opt, value: str) -> str:
    match = _HOSTFWD.match(value)
    if not match:
        raise Unfit(f"hostfwd={value} is not a forward vmrun reads (IPv4 proto:addr:port-addr:port)")
    proto, host_addr, host_port, guest_addr, guest_port = match.groups()
    if not host_addr:
        # QEMU listens on every address when none is given; vmrun's default would be loopback.
        host_addr = "0.0.0.0"
        m.note(
            opt.line,
            f"hostfwd={value} listens on all addresses in QEMU: imported as "
            f"{proto or 'tcp'}:0.0.0.0:{host_port}-{guest_addr}:{guest_port}; write 127.0.0.1 "
            "instead of 0.0.0.0 to keep it to this host",
        )
    text = f"{proto or 'tcp'}:{host_addr}:{host_port}-{guest_addr}:{guest_port}"
    try:
        fields.parse_hostfwd(text)
    except ValueError as e:
        raise Unfit(str(e)) from None
    return text


def _tap(m: Mapper, opt: Opt, nd: dict[str, str]) -> dict[str, Any]:
    if "br" in nd or "helper" in nd:
        nic: dict[str, Any] = {"type": "bridge", "bridge": nd.pop("br", "br0"), "via": "helper"}
        if "helper" in nd:
            nic["helper"] = nd.pop("helper")
    elif "fd" in nd:
        fd = nd.pop("fd")
        _no_fd_from_a_file(m, opt, fd)
        found = hostside.macvtap_behind_fd(m.script, fd)
        if found is None:
            raise Unfit(
                f"fd={fd} is a tap the script's caller opened; vmrun cannot tell which "
                '(for a macvtap, write type = "macvtap" and parent = ...)'
            )
        nic = dict(found.nic)
        if "mac" in nic:
            nic[LINK_MAC] = nic.pop("mac")
        m.note(
            opt.line,
            f"the tap fd={fd} is opened on a macvtap the script makes at line {found.line} "
            f'({found.how}): imported as type = "macvtap", parent = "{nic["parent"]}"; vmrun makes its own',
        )
    elif "ifname" in nd:
        ifname = nd.pop("ifname")
        found = hostside.tap_attachment(m.script, ifname)
        scripted = nd.get("script", "/etc/qemu-ifup") != "no" or nd.get("downscript", "/etc/qemu-ifdown") != "no"
        if found is None or scripted:
            nic = _tap_as_is(m, opt, nd, ifname)
        else:
            nd.pop("script", None)
            nd.pop("downscript", None)
            nic = dict(found.nic)
            if nic["type"] == "bridge":
                nic["via"] = "tap"
            m.note(
                opt.line,
                f"the tap {ifname} joins {nic['bridge']} at line {found.line} ({found.how}): imported "
                f'as type = "{nic["type"]}", bridge = "{nic["bridge"]}"; vmrun makes and removes its own tap',
            )
    else:
        nic = _tap_as_is(m, opt, nd, None)
    if "vhost" in nd:
        nic["vhost"] = "on" if boolean("vhost", nd.pop("vhost")) else "off"
    if "queues" in nd:
        queues = nd.pop("queues")
        if not queues.isdigit() or not 1 <= int(queues) <= 64:
            raise Unfit(f"queues={queues} is not 1-64")
        nic["queues"] = int(queues)
    return _carried(m, opt, nic, nd)


def _no_fd_from_a_file(m: Mapper, opt: Opt, fd: str) -> None:
    """``fd=$(cat /sys/class/net/IF/ifindex)``: a number only the running script has, for a tap nobody names."""
    marker = MARKER.fullmatch(fd)
    if marker is None:
        return
    path = f"/sys/class/net/{marker.group(1)}/{marker.group(2)}"
    raise ScriptError(
        fd_from_a_file(f"fd=$(cat {path})", path),
        source=m.script.source,
        line=opt.line,
        hint=FD_HINT.format('type = "macvtap", parent = "eth0"; or type = "tap", ifname = "tap0"'),
    )


def _tap_as_is(m: Mapper, opt: Opt, nd: dict[str, str], ifname: str | None) -> dict[str, Any]:
    """type = "tap": the tap the script names, or the one QEMU makes and hands to its ifup script."""
    nic: dict[str, Any] = {"type": "tap"}
    if ifname is not None:
        try:
            nic["ifname"] = fields.parse_ifname(ifname)
        except ValueError as e:
            raise Unfit(str(e)) from None
    # QEMU's defaults, written out: a tap it makes runs /etc/qemu-ifup and /etc/qemu-ifdown.
    for key, default in (("script", "/etc/qemu-ifup"), ("downscript", "/etc/qemu-ifdown")):
        value = nd.pop(key, default)
        if value not in ("no", ""):
            nic[key] = m.path(Field(value, opt.line), f"the tap's {key}")
    if "script" not in nic and ifname is None:
        raise Unfit("a tap QEMU makes with script=no joins nothing")
    if ifname is not None and "script" not in nic:
        m.note(
            opt.line,
            f"the tap {ifname} is made outside QEMU (by the admin or another script): imported as "
            'type = "tap"; vmrun uses it as it is and never deletes it',
        )
    else:
        m.note(
            opt.line,
            f"QEMU makes this tap and runs {nic.get('script', 'no script')} on it: imported as "
            'type = "tap" with the same scripts',
        )
    return nic


def _carried(m: Mapper, opt: Opt, nic: dict[str, Any], nd: dict[str, str]) -> dict[str, Any]:
    """The backend's options vmrun has no key for: on the NIC as netdev_options, verbatim, with a note."""
    from vmrun.qemuopts import opts

    nd.pop("id", None)
    if not nd:
        return nic
    text = opts(None, list(nd.items()))
    try:
        nic["netdev_options"] = fields.parse_netdev_options(text)
    except ValueError as e:
        raise Unfit(str(e)) from None
    m.note(opt.line, f"the netdev's {text}: no vmrun key; carried on the NIC as netdev_options = {text!r}")
    return nic
