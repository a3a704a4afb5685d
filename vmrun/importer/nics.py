"""NICs: each ``-device`` + ``-netdev`` pair, ``-nic``, or legacy ``-net nic`` + ``-net BACKEND`` into ``[[nics]]``.

NICs are listed in the order QEMU makes them (``-nic``, then ``-net nic``, at
machine init; then ``-device``), each with the MAC QEMU gave it, so the guest
sees the same cards. A NIC vmrun cannot carry stays in extra_args, device and
netdev together, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmrun.errors import ScriptError
from vmrun.importer.nicbackends import LINK_MAC, backend
from vmrun.importer.options import Mapper, Opt, Unfit, boolean, is_q35, parse_opts
from vmrun.importer.substitute import MARKER
from vmrun.profile import fields

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
    given: list[str | None] = []  # the mac= each NIC had in the script, in the order QEMU makes them
    # QEMU makes -nic NICs first, then -net nic ones (both at machine init), then each -device in turn.
    for opt in m.named("-nic"):
        _add(m, nics, given, opt, None, lambda o=opt: _nic_option(m, o, nics))
    for nic, mac, opts in _legacy(m, netdevs, nics):
        nics.append(nic)
        given.append(mac)
        m.take(opts[0], f"nic:{nic['id']}")
        for o in opts[1:]:
            m.take(o, "nic")
    for opt in m.named("-device"):
        if opt.value is None:
            continue
        head, pairs = parse_opts(opt.text, "driver")
        if "netdev" not in dict(pairs):
            continue  # not a NIC
        netdev = netdevs.get(dict(pairs)["netdev"])
        _add(m, nics, given, opt, netdev, lambda o=opt, h=head, p=pairs, n=netdev: _device(m, o, h, p, n))
    for netdev in netdevs.values():
        if netdev.opt.index not in m.taken and netdev.opt.index not in m.reasons:
            m.keep(netdev.opt, "no -device uses this -netdev")
    _qemu_macs(m, nics, given)
    if nics:
        m.set("nics", nics)
    elif not any(o.name in ("-net", "-nic", "-netdev", "-nodefaults") for o in m.opts):
        m.note(
            m.script.program.line,
            "no NIC option: QEMU gives the guest its default NIC (e1000 on user "
            "networking, MAC 52:54:00:12:34:56), and so will vmrun; add a [[nics]] table to see and manage it",
        )


def _add(m: Mapper, nics: list, given: list, opt: Opt, netdev: _Netdev | None, make) -> None:
    try:
        nic = make()
    except Unfit as e:
        m.keep(opt, f"NIC not imported: {e}")
        if netdev is not None:
            m.keep(netdev.opt, None)
        return
    nics.append(nic)
    given.append(nic.get("mac"))
    m.take(opt, f"nic:{nic['id']}")
    if netdev is not None:
        m.take(netdev.opt, "nic")
    m.origin(f"nics.{len(nics) - 1}", _with_params(opt, netdev))


def _device(m: Mapper, opt: Opt, head: str | None, pairs: list[tuple[str, str]], netdev: _Netdev | None):
    if netdev is None:
        raise Unfit(f"there is no -netdev id={dict(pairs)['netdev']} for it")
    return _pair(m, opt, head, pairs, netdev)


_QEMU_MAC = "52:54:00:12:34:{:02x}"
_SYSFS_MAC = "mac from sysfs"  # marks, removed before the NIC is written


def _macvtap_mac(m: Mapper, opt: Opt, nic: dict[str, Any]) -> None:
    """``mac=$(cat /sys/class/net/IF/address)`` is only for the macvtap IF the NIC is opened on."""
    link = nic.pop(_SYSFS_MAC, None)
    address = nic.pop(LINK_MAC, None)
    if link is None:
        return
    if address is not None:
        nic["mac"] = address
    if nic.get("type") != "macvtap":
        raise Unfit(f"mac= is the address of {link}, read when the script runs; vmrun cannot know it")
    m.note(
        opt.line,
        f"mac=$(cat /sys/class/net/{link}/address): vmrun makes the macvtap with the NIC's own MAC, "
        f"so guest and macvtap agree" + ("" if "mac" in nic else " (a fixed one vmrun gives it)"),
    )


def _qemu_macs(m: Mapper, nics: list[dict[str, Any]], given: list[str | None]) -> None:
    """The MAC QEMU gives a NIC without mac=: the lowest 52:54:00:12:34:xx from :56 up that no NIC made before has."""
    used: set[int] = set()
    for nic, mac in zip(nics, given):
        if nic.get("type") == "macvtap" and mac is None:
            continue  # the macvtap's address is the guest's: vmrun makes the macvtap with the NIC's MAC
        if mac is not None:
            if mac.lower().startswith("52:54:00:12:34:"):
                used.add(int(mac[-2:], 16))
            continue
        last = next(k for k in range(0x56, 0x100) if k not in used)
        used.add(last)
        nic["mac"] = _QEMU_MAC.format(last)
        m.note(
            None,
            f"NIC {nic['id']} has no mac= in the script: imported with the MAC QEMU gave it, "
            f"{nic['mac']} (QEMU gives every VM the same ones: give each VM a MAC of its own)",
        )


def _hubs(m: Mapper) -> tuple[dict[str, tuple[list[Opt], list[Opt]]], list[Opt]]:
    """The script's ``-net`` options by hub (its NICs, its backends), and the ``-net nic,netdev=`` ones."""
    hubs: dict[str, tuple[list[Opt], list[Opt]]] = {}
    direct: list[Opt] = []
    for opt in m.named("-net"):
        if opt.value is None:
            continue
        kind, pairs = parse_opts(opt.text, "type")
        keys = dict(pairs)
        if kind == "none":
            m.take(opt, "dropped")
            m.note(opt.line, "-net none: no NIC at all, as QEMU gives it with no other NIC option")
        elif kind == "nic" and "netdev" in keys:
            direct.append(opt)
        else:
            nic_opts, backends = hubs.setdefault(keys.get("vlan", "0"), ([], []))
            (nic_opts if kind == "nic" else backends).append(opt)
    return hubs, direct


def _legacy(m: Mapper, netdevs: dict[str, _Netdev], nics: list[dict[str, Any]]):
    """``-net nic`` and ``-net BACKEND`` joined on a hub (``vlan=N``, 0 when not given), one NIC per hub.

    Yields (NIC, the script's mac=, the options it took). A hub with several NICs or backends is
    refused: vmrun gives each NIC a backend of its own.
    """
    hubs, direct = _hubs(m)
    for opt in direct:
        kind, pairs = parse_opts(opt.text, "type")
        netdev = netdevs.get(dict(pairs)["netdev"])
        if netdev is None:
            m.keep(opt, f"NIC not imported: there is no -netdev id={dict(pairs)['netdev']} for it")
            continue
        try:
            nic = _legacy_nic(m, opt, pairs, netdev.opt, netdev.kind, netdev.pairs, nics)
        except Unfit as e:
            m.keep(opt, f"NIC not imported: {e}")
            m.keep(netdev.opt, None)
            continue
        yield nic, dict(pairs).get("macaddr"), [opt, netdev.opt]
    for hub, (nic_opts, backends) in hubs.items():
        if len(nic_opts) > 1 or len(backends) > 1:
            lines = ", ".join(str(o.line) for o in nic_opts + backends)
            raise ScriptError(
                f"hub {hub} (-net ...,vlan={hub}, lines {lines}) joins {len(nic_opts)} NICs and {len(backends)} "
                "backends; vmrun gives each NIC a backend of its own",
                source=m.script.source,
                line=(nic_opts + backends)[0].line,
                hint="give each -net nic its own vlan= and -net backend, then import again",
            )
        if not nic_opts or not backends:
            _lone_on_a_vlan(m, hub, nic_opts + backends, "no NIC" if not nic_opts else "no backend")
            for opt in nic_opts + backends:
                m.keep(opt, f"NIC not imported: hub {hub} has " + ("no NIC" if not nic_opts else "no backend"))
            continue
        nic_opt, back = nic_opts[0], backends[0]
        kind, pairs = parse_opts(back.text, "type")
        rest = [(k, v) for k, v in pairs if k not in ("vlan", "name")]
        nic_pairs = parse_opts(nic_opt.text, "type")[1]
        try:
            nic = _legacy_nic(m, nic_opt, nic_pairs, back, kind, rest, nics)
        except Unfit as e:
            m.keep(nic_opt, f"NIC not imported: {e}")
            m.keep(back, None)
            continue
        yield nic, dict(nic_pairs).get("macaddr"), [nic_opt, back]


def _lone_on_a_vlan(m: Mapper, hub: str, opts: list[Opt], lacks: str) -> None:
    """A vlan= hub with a NIC and no backend (or the reverse): QEMU 7.2 refuses vlan=, so extra_args cannot keep it."""
    if any("vlan" in dict(parse_opts(o.text, "type")[1]) for o in opts):
        raise ScriptError(
            f"hub {hub} (-net ...,vlan={hub}, line {', '.join(str(o.line) for o in opts)}) has {lacks}; QEMU 7.2 "
            "no longer takes vlan=, and vmrun joins each NIC to a backend of its own",
            source=m.script.source,
            line=opts[0].line,
            hint=f"give hub {hub} one -net nic and one -net backend, or drop its -net lines, then import again",
        )


def _legacy_nic(
    m: Mapper,
    opt: Opt,
    pairs: list[tuple[str, str]],
    backend_opt: Opt,
    kind: str | None,
    backend_pairs: list[tuple[str, str]],
    nics: list[dict[str, Any]],
) -> dict[str, Any]:
    keys = dict(pairs)
    unknown = {k: v for k, v in pairs if k not in ("vlan", "name", "model", "macaddr", "netdev", "addr")}
    model = keys.get("model") or ("e1000e" if is_q35(m) else "e1000")  # QEMU's default NIC for the machine
    model = _NIC_MODELS.get(model, model)
    used = {n["id"] for n in nics}
    nid = next(f"net{k}" for k in range(len(nics) + 1) if f"net{k}" not in used)
    nic = _common(m, opt, model, keys.get("macaddr"), nid)
    if "addr" in keys:
        nic["addr"] = _addr(keys["addr"])
    nd = {k: v for k, v in backend_pairs if k != "id"}
    nic.update(backend(m, backend_opt, kind, nd))
    _macvtap_mac(m, opt, nic)  # macaddr=$(cat /sys/class/net/IF/address), as on -device and -nic
    _device_options(m, opt, nic, unknown)
    if "vlan" in keys:
        m.note(
            opt.line,
            f"NIC {nid}: the script joins it to its backend through hub {keys['vlan']} (vlan=, which "
            "QEMU 7.2 no longer takes); vmrun joins them directly",
        )
    return nic


def _addr(value: str) -> str:
    try:
        return fields.parse_pci_addr(value)
    except ValueError as e:
        raise Unfit(str(e)) from None


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
    if "addr" in device:
        nic["addr"] = _addr(device.pop("addr"))
    nic.update(backend(m, netdev.opt, netdev.kind, nd))
    _macvtap_mac(m, opt, nic)
    _multiqueue(m, opt, nic, device)
    _device_options(m, opt, nic, device)
    return nic


def _device_options(m: Mapper, opt: Opt, nic: dict[str, Any], device: dict[str, str]) -> None:
    """The device's options vmrun has no key for (bus=, ioeventfd=...): on the NIC as device_options, verbatim."""
    from vmrun.qemuopts import opts

    if not device:
        return
    text = opts(None, list(device.items()))
    try:
        nic["device_options"] = fields.parse_device_options(text)
    except ValueError as e:
        raise Unfit(str(e)) from None
    m.note(opt.line, f"the device's {text}: no vmrun key; carried on NIC {nic['id']} as device_options = {text!r}")


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
    nic.update(backend(m, opt, kind, keys))
    _macvtap_mac(m, opt, nic)
    return nic


def _common(m: Mapper, opt: Opt, model: str | None, mac: str | None, nid: str) -> dict[str, Any]:
    if mac is not None and MARKER.fullmatch(mac):
        # mac=$(cat /sys/class/net/IF/address): the macvtap's own address, whatever it is on the day.
        nic = _common(m, opt, model, None, nid)
        nic[_SYSFS_MAC] = MARKER.fullmatch(mac).group(1)  # type: ignore[union-attr]
        return nic
    try:
        nic: dict[str, Any] = {"id": fields.parse_id(nid), "model": fields.parse_word(model or "")}
        if mac is not None:
            nic["mac"] = fields.parse_mac(mac)
    except ValueError as e:
        raise Unfit(str(e)) from None
    return nic


def _multiqueue(m: Mapper, opt: Opt, nic: dict[str, Any], device: dict[str, str]) -> None:
    """vmrun tells a multi-queue device mq=on and 2N+2 vectors itself; the script's must agree.

    On a single-queue NIC vmrun says neither: the script's stay in ``device``, for device_options."""
    queues = nic.get("queues") or 1
    if queues == 1:
        return
    mq = boolean("mq", device.pop("mq")) if "mq" in device else None
    vectors = device.pop("vectors", None)
    if queues > 1:
        if mq is False or (vectors is not None and vectors != str(2 * queues + 2)):
            raise Unfit(f"queues={queues} but the device has other mq/vectors than vmrun gives")
        if mq is None:
            m.note(opt.line, f"queues={queues}: vmrun also tells the device mq=on,vectors={2 * queues + 2}")
