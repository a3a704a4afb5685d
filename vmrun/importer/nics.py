"""NICs: each ``-device`` + ``-netdev`` pair (or ``-nic``) into one ``[[nics]]`` table.

A NIC vmrun cannot make the same way stays in extra_args as a whole, device
and netdev together, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vmrun.importer import hostside
from vmrun.importer.options import Mapper, Opt, Unfit, boolean, is_q35, parse_opts
from vmrun.profile import fields

_HOSTFWD = re.compile(r"^(?:(tcp|udp):)?([^:]*):(\d+)-([^:]*):(\d+)$")
# -nic's model names that are not device names.
_NIC_MODELS = {"virtio": "virtio-net-pci"}


@dataclass
class _Netdev:
    opt: Opt
    kind: str | None
    pairs: list[tuple[str, str]]


def map_nics(m: Mapper) -> None:
    netdevs: dict[str, _Netdev] = {}
    for opt in m.named("-netdev"):
        kind, pairs = parse_opts(opt.text, "type")
        nid = dict(pairs).get("id")
        if nid:
            netdevs[nid] = _Netdev(opt, kind, pairs)
    nics: list[dict[str, Any]] = []
    for opt in m.named("-device", "-nic", "-net"):
        netdev = None
        if opt.value is None:
            continue
        if opt.name == "-net":
            m.keep(opt, "the old -net form (NICs joined through a hub); write -nic or -netdev/-device to get [[nics]]")
            continue
        try:
            if opt.name == "-nic":
                nic, netdev = _nic_option(m, opt, nics), None
            else:
                head, pairs = parse_opts(opt.text, "driver")
                if "netdev" not in dict(pairs):
                    continue  # not a NIC
                netdev = netdevs.get(dict(pairs)["netdev"])
                if netdev is None:
                    raise Unfit(f"there is no -netdev id={dict(pairs)['netdev']} for it")
                nic = _pair(m, opt, head, pairs, netdev)
        except Unfit as e:
            m.keep(opt, f"NIC not imported: {e}")
            if opt.name == "-device" and netdev is not None:
                m.keep(netdev.opt, None)
            continue
        nics.append(nic)
        m.take(opt, "nic")
        if netdev is not None:
            m.take(netdev.opt, "nic")
        m.origin(f"nics.{len(nics) - 1}", _with_params(opt, netdev))
    for netdev in netdevs.values():
        if netdev.opt.index not in m.taken and netdev.opt.index not in m.reasons:
            m.keep(netdev.opt, "no -device uses this -netdev")
    if nics:
        m.set("nics", nics)


def _with_params(opt: Opt, netdev: _Netdev | None):
    for o in (opt, netdev.opt if netdev else None):
        if o is not None and o.value is not None and o.value.params:
            return o.value
    return None


def _pair(m: Mapper, opt: Opt, model: str | None, pairs: list[tuple[str, str]], netdev: _Netdev) -> dict[str, Any]:
    device = dict(pairs)
    device.pop("netdev")
    nd = dict(netdev.pairs)
    netdev_id = nd.pop("id")
    # vmrun gives device and netdev the NIC's id; the device's is the one QMP users name.
    nid = device.pop("id", netdev_id)
    if nid != netdev_id:
        m.note(opt.line, f"NIC {nid}: vmrun names its netdev {nid} too (the script called it {netdev_id})")
    nic = _common(m, opt, model, device.pop("mac", None), nid)
    nic.update(_backend(m, netdev.opt, netdev.kind, nd))
    _multiqueue(m, opt, nic, device)
    if device:
        raise Unfit(f"vmrun has no key for the device's {', '.join(device)}")
    return nic


def _nic_option(m: Mapper, opt: Opt, nics: list[dict[str, Any]]) -> dict[str, Any]:
    kind, pairs = parse_opts(opt.text, "type")
    if kind == "none":
        raise Unfit("-nic none: no network at all, as QEMU gives it")
    keys = dict(pairs)
    model = keys.pop("model", None)
    if model is None:
        model = "e1000e" if is_q35(m) else "e1000"  # QEMU's default NIC for the machine
    model = _NIC_MODELS.get(model, model)
    used = {n["id"] for n in nics}
    nid = keys.pop("id", None) or next(f"net{k}" for k in range(len(nics) + 1) if f"net{k}" not in used)
    nic = _common(m, opt, model, keys.pop("mac", None), nid)
    nic.update(_backend(m, opt, kind, keys))
    return nic


def _common(m: Mapper, opt: Opt, model: str | None, mac: str | None, nid: str) -> dict[str, Any]:
    try:
        nic: dict[str, Any] = {"id": fields.parse_id(nid), "model": fields.parse_word(model or "")}
        if mac is not None:
            nic["mac"] = fields.parse_mac(mac)
    except ValueError as e:
        raise Unfit(str(e)) from None
    if mac is None:
        m.note(opt.line, f"NIC {nid} has no mac=: vmrun gives it a MAC of its own that never changes "
               "(QEMU gave it 52:54:00:12:34:5x by its place in the command)")
    return nic


def _backend(m: Mapper, opt: Opt, kind: str | None, nd: dict[str, str]) -> dict[str, Any]:
    if kind == "user":
        return _user(m, opt, nd)
    if kind == "bridge":
        nic = {"type": "bridge", "bridge": nd.pop("br", "br0"), "via": "helper"}  # QEMU's default bridge is br0
        if "helper" in nd:
            nic["helper"] = nd.pop("helper")
        _left_over(nd)
        return nic
    if kind == "tap":
        return _tap(m, opt, nd)
    raise Unfit(f"a -netdev {kind} is not a NIC type vmrun makes")


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
    _left_over(nd)
    return nic


def _hostfwd(m: Mapper, opt: Opt, value: str) -> str:
    match = _HOSTFWD.match(value)
    if not match:
        raise Unfit(f"hostfwd={value} is not a forward vmrun reads (IPv4 proto:addr:port-addr:port)")
    proto, host_addr, host_port, guest_addr, guest_port = match.groups()
    if not host_addr:
        # QEMU listens on every address when none is given; vmrun's default would be loopback.
        host_addr = "0.0.0.0"
        m.note(opt.line, f"hostfwd={value} listens on all addresses in QEMU: imported as "
               f"{proto or 'tcp'}:0.0.0.0:{host_port}-{guest_addr}:{guest_port}; write 127.0.0.1 "
               "instead of 0.0.0.0 to keep it to this host")
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
        found = hostside.macvtap_behind_fd(m.script, fd)
        if found is None:
            raise Unfit(f"fd={fd} is a tap the script's caller opened; vmrun cannot tell which "
                        "(for a macvtap, write type = \"macvtap\" and parent = ...)")
        nic = dict(found.nic)
        m.note(opt.line, f"the tap fd={fd} is opened on a macvtap the script makes at line {found.line} "
               f"({found.how}): imported as type = \"macvtap\", parent = \"{nic['parent']}\"; vmrun makes its own")
    elif "ifname" in nd:
        ifname = nd.pop("ifname")
        found = hostside.tap_attachment(m.script, ifname)
        if found is None or nd.get("script", "no") != "no" or nd.get("downscript", "no") != "no":
            raise Unfit(f"the tap {ifname} is made outside QEMU (or by its ifup script) and vmrun cannot tell what "
                        "it is attached to (write type = \"bridge\" and bridge = ... if it is on a bridge)")
        nd.pop("script", None)
        nd.pop("downscript", None)
        nic = dict(found.nic)
        if nic["type"] == "bridge":
            nic["via"] = "tap"
        m.note(opt.line, f"the tap {ifname} joins {nic['bridge']} at line {found.line} ({found.how}): imported "
               f"as type = \"{nic['type']}\", bridge = \"{nic['bridge']}\"; vmrun makes and removes its own tap")
    else:
        raise Unfit("QEMU makes this tap and runs /etc/qemu-ifup on it; vmrun cannot tell which bridge it joins")
    if "vhost" in nd:
        nic["vhost"] = "on" if boolean("vhost", nd.pop("vhost")) else "off"
    if "queues" in nd:
        queues = nd.pop("queues")
        if not queues.isdigit() or not 1 <= int(queues) <= 64:
            raise Unfit(f"queues={queues} is not 1-64")
        nic["queues"] = int(queues)
    _left_over(nd)
    return nic


def _multiqueue(m: Mapper, opt: Opt, nic: dict[str, Any], device: dict[str, str]) -> None:
    """vmrun tells a multi-queue device mq=on and 2N+2 vectors itself; the script's must agree."""
    queues = nic.get("queues") or 1
    mq = boolean("mq", device.pop("mq")) if "mq" in device else None
    vectors = device.pop("vectors", None)
    if queues > 1:
        if mq is False or (vectors is not None and vectors != str(2 * queues + 2)):
            raise Unfit(f"queues={queues} but the device has other mq/vectors than vmrun gives")
        if mq is None:
            m.note(opt.line, f"queues={queues}: vmrun also tells the device mq=on,vectors={2 * queues + 2}")
    elif mq or vectors is not None:
        raise Unfit("mq/vectors on a single-queue NIC")


def _left_over(nd: dict[str, str]) -> None:
    nd.pop("id", None)
    if nd:
        raise Unfit(f"vmrun has no key for the netdev's {', '.join(nd)}")
