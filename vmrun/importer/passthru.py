"""Passthrough a script sets up: ``usb-host`` into ``[[usb]]``, ``vfio-pci`` into ``[[pci]]``.

The controllers the script makes only for them (an xhci, a root port per function) are
dropped: vmrun gives its own. Where the script places a function (bus=, addr=,
multifunction=) is vmrun's to choose; its other options are kept on the entry as ``options``.
"""

from __future__ import annotations

from vmrun.importer.options import Mapper, Opt, Unfit, parse_opts
from vmrun.profile import passthrough


def map_usb(m: Mapper) -> None:
    devices = []
    for opt in m.named("-device", "-usbdevice"):
        try:
            device = _usb_host(opt)
        except Unfit as e:
            m.keep(opt, str(e))
            continue
        if device is not None:
            m.take(opt, "usb")
            devices.append(device)
    if devices:
        m.profile.setdefault("usb", []).extend(devices)
        _own_controllers(m, "usb", ("qemu-xhci", "nec-usb-xhci"), "vmrun gives the [[usb]] devices an xhci of its own")


def _usb_host(opt: Opt) -> dict[str, str] | None:
    if opt.name == "-usbdevice":  # the legacy host:VENDOR:PRODUCT form
        parts = opt.text.split(":")
        if len(parts) == 3 and parts[0] == "host":
            return {"vendor": _usb_id(parts[1]), "product": _usb_id(parts[2])}
        return None
    driver, pairs = parse_opts(opt.text, "driver")
    if driver != "usb-host":
        return None
    keys = dict(pairs)
    unknown = sorted(set(keys) - {"vendorid", "productid", "hostbus", "hostport", "id", "bus"})
    if unknown:
        raise Unfit(f"vmrun has no key for usb-host's {', '.join(unknown)}")
    device: dict[str, str] = {}
    if "vendorid" in keys and "productid" in keys:
        device = {"vendor": _usb_id(keys["vendorid"]), "product": _usb_id(keys["productid"])}
    elif "hostbus" in keys and "hostport" in keys:
        device = {"host": _checked(passthrough.parse_bus_port, f"{keys['hostbus']}-{keys['hostport']}")}
    else:
        raise Unfit("a usb-host without vendorid+productid or hostbus+hostport")
    if "id" in keys:
        device["id"] = keys["id"]
    return device


def _usb_id(text: str) -> str:
    """QEMU reads the id as a number (``0x46d`` is ``046d``); the profile's key wants its 4 hex digits."""
    try:
        number = int(text, 16)
    except ValueError:
        raise Unfit(f"{text} is not a USB vendor or product id") from None
    return _checked(passthrough.parse_usb_id, f"{number:04x}")


def _checked(parse, text: str) -> str:
    try:
        return parse(text)
    except ValueError as e:
        raise Unfit(str(e)) from None


def map_pci(m: Mapper) -> None:
    devices = []
    for opt in m.named("-device"):
        driver, pairs = parse_opts(opt.text, "driver")
        if driver != "vfio-pci":
            continue
        keys = dict(pairs)
        try:
            host = _checked(passthrough.parse_pci_host, keys.get("host", ""))
            device = {"host": host, **_vfio_options(m, opt, keys)}
        except Unfit as e:
            m.keep(opt, str(e))
            continue
        m.take(opt, "pci")
        devices.append(device)
    if devices:
        m.profile.setdefault("pci", []).extend(devices)
        _own_controllers(
            m, "pci", ("pcie-root-port", "ioh3420"), "vmrun gives each passed function a root port of its own (q35)"
        )


# Where the script puts a function: vmrun places each itself (its own root port on q35).
_PLACEMENT = ("bus", "addr", "multifunction")


def _vfio_options(m: Mapper, opt: Opt, keys: dict[str, str]) -> dict[str, str]:
    from vmrun.profile import fields
    from vmrun.qemuopts import opts

    placed = [f"{k}={keys[k]}" for k in _PLACEMENT if k in keys]
    if placed:
        m.note(
            opt.line,
            f"{', '.join(placed)}: not imported: vmrun places each passed function itself (a root port of its own on q35)",
        )
    rest = [(k, v) for k, v in keys.items() if k not in ("host", "id", *_PLACEMENT)]
    if not rest:
        return {}
    text = opts(None, rest)
    try:
        fields.parse_vfio_options(text)
    except ValueError as e:
        raise Unfit(str(e)) from None
    m.note(opt.line, f"vfio-pci's {text}: no vmrun key; carried on the [[pci]] entry as options = {text!r}")
    return {"options": text}


def _own_controllers(m: Mapper, what: str, drivers: tuple[str, ...], why: str) -> None:
    """The script's controllers (an xhci, root ports) that only the devices taken as ``what`` use: vmrun gives its own."""
    used = {dict(parse_opts(o.text, "driver")[1]).get("bus", "") for o in m.opts if m.taken.get(o.index) == what}
    for opt in m.named("-device"):
        driver, pairs = parse_opts(opt.text, "driver")
        own = dict(pairs).get("id")
        if driver not in drivers or not own or not ({own, f"{own}.0"} & used):
            continue
        if set(dict(pairs)) - {"id", "bus", "chassis", "slot", "port", "addr", "multifunction"}:
            continue
        if any(f"bus={own}" in o.text.split(",") or f"bus={own}.0" in o.text.split(",") for o in m.named("-device")):
            continue  # other devices of the script sit on it too: it stays theirs
        m.take(opt, what)
        m.note(opt.line, f"{opt}: dropped: {why}")
