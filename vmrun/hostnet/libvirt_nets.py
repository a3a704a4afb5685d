"""libvirt networks made, persisted, started, stopped and listed through libvirt-python.

A network is defined persistent (networkDefineXML), then started, then marked
autostart, so the seed's "cannot set autostart for transient network" cannot
happen; a step that fails undoes the ones before it, so nothing half-made is
left defined. A `net create` killed between steps leaves a network defined but
inactive, or without autostart: the same `net create` again finishes it (and
says so), provided it is the very network the command defines.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from vmrun import ui
from vmrun.adapters import libvirt as lv
from vmrun.adapters.libvirt import connect, quiet_libvirt, virsh
from vmrun.errors import PreflightError, StateError
from vmrun.hostnet import spec
from vmrun.profile.model import Network


def _lookup(conn: Any, name: str, uri: str) -> Any | None:
    return lv.lookup(
        lambda: conn.networkLookupByName(name),
        "VIR_ERR_NO_NETWORK",
        f"libvirt at {uri} cannot look up network {name!r}",
        error=StateError,
    )


def _existing(conn: Any, name: str, uri: str) -> Any:
    net = _lookup(conn, name, uri)
    if net is None:
        raise StateError(f"libvirt at {uri} has no network {name!r}", hint=f"{virsh(uri)} net-list --all")
    return net


def _local(uri: str) -> bool:
    """Whether libvirtd runs here, so that its bridges are our links (no host part in the URI)."""
    return "://" in uri and uri.split("://", 1)[1].startswith("/")


def create(net: Network) -> dict[str, Any]:
    """Define, start and (unless told not) autostart ``net``; on failure nothing stays defined."""
    net = spec.complete(net)
    with connect(net.uri) as conn:
        if (handle := _lookup(conn, net.name, net.uri)) is not None:
            return _finish(handle, net)
        assert net.bridge is not None
        if _local(net.uri) and os.path.exists(f"/sys/class/net/{net.bridge}"):
            raise StateError(
                f"bridge name {net.bridge!r} is taken by an existing interface",
                hint="give another one with --bridge NAME (at most 15 bytes)",
            )
        with lv.failing(f"libvirt refused network {net.name!r}", error=StateError):
            handle = conn.networkDefineXML(spec.network_xml(net))
        try:
            with lv.failing(
                f"cannot start network {net.name!r}",
                error=_not_left_defined,
                hint="another --subnet or --bridge, if one is already in use (ip route, ip link)",
            ):
                handle.create()
                if net.autostart:
                    handle.setAutostart(1)
        except BaseException:
            _undo(handle)
            raise
        return describe(handle)


def _finish(handle: Any, net: Network) -> dict[str, Any]:
    """A network of that name exists: finish it if it is one a `net create` of these options was cut short in."""
    shown = describe(handle)
    todo = [
        step
        for step, needed in (
            ("started it", not shown["active"]),
            ("set it to autostart", net.autostart and not shown["autostart"]),
        )
        if needed
    ]
    if not shown["persistent"] or not todo:
        hint = (
            f"vmrun net persist {net.name} makes it persistent"
            if not shown["persistent"]
            else "vmrun net list shows it"
        )
        raise StateError(
            f"libvirt at {net.uri} already has a network {net.name!r}",
            hint=f"{hint}; vmrun net delete {net.name} removes it",
        )
    defined = lv.quietly(lambda: handle.XMLDesc(quiet_libvirt().VIR_NETWORK_XML_INACTIVE))
    same = defined is not None and _shape(defined) == _shape(spec.network_xml(net))
    if not same:
        raise StateError(
            f"libvirt at {net.uri} already has a network {net.name!r} ({_flags(shown)}), "
            "not the one these options define",
            hint=f"vmrun net start {net.name} starts it as it is; vmrun net delete {net.name} removes it",
        )
    with lv.failing(
        f"cannot finish network {net.name!r}, left {_flags(shown)} by an earlier net create",
        error=StateError,
        hint=f"vmrun net delete {net.name} removes it; then create it again",
    ):
        if not shown["active"]:
            handle.create()
        if net.autostart and not shown["autostart"]:
            handle.setAutostart(1)
    ui.notice(f"{net.name}: an earlier `vmrun net create` had left it {_flags(shown)}; {' and '.join(todo)}")
    return describe(handle)


def _shape(xml: str) -> tuple[Any, ...]:
    """What `net create` writes into a network's XML, as libvirt gives it back (it adds a uuid, a MAC...)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    forward, bridge = root.find("forward"), root.find("bridge")
    ips = [
        (
            ip.get("address"),
            ip.get("netmask") or ip.get("prefix"),
            tuple((r.get("start"), r.get("end")) for r in ip.findall("dhcp/range")),
        )
        for ip in root.findall("ip")
    ]
    return (
        root.findtext("name"),
        None if forward is None else (forward.get("mode", "nat"), forward.get("dev")),
        None if bridge is None else bridge.get("name"),
        ips,
    )


def _not_left_defined(message: str, hint: str | None) -> StateError:
    return StateError(f"{message}; it was not left defined", hint=hint)


def _undo(handle: Any) -> None:
    for step in (handle.destroy, handle.undefine):
        lv.quietly(step)  # a failure: not started (destroy), or already gone


def ensure(net: Network, notice: Callable[[str], None] = lambda _: None) -> str | None:
    """For `vmrun up`: make ``net`` if libvirt lacks it, start it if it is down; what was done, or None.

    A network of that name is used as it is, even if it differs from ``net``: it may serve other guests.
    """
    with connect(net.uri) as conn:
        handle = _lookup(conn, net.name, net.uri)
        if handle is not None:
            have = describe(handle)
            if net.subnet and have["subnets"] and net.subnet not in have["subnets"]:
                notice(
                    f"libvirt network {net.name} has subnet {have['subnet']}, not {net.subnet} as the profile says; "
                    "it is used as it is"
                )
            if have["active"]:
                return None
            _start(handle, net.name)
            return f"started libvirt network {net.name}"
    shown = create(net)
    return f"created libvirt network {net.name} ({_flags(shown)})"


def persist(name: str, uri: str) -> dict[str, Any]:
    """A transient network (``virsh net-create``) made persistent and autostart, without taking it down.

    Defining the XML of an active transient network makes libvirt keep it, as it runs.
    """
    with connect(uri) as conn:
        handle = _existing(conn, name, uri)
        with lv.failing(f"cannot make network {name!r} persistent", error=StateError):
            if not handle.isPersistent():
                handle = conn.networkDefineXML(handle.XMLDesc(0))
            if not handle.autostart():
                handle.setAutostart(1)
        return describe(handle)


def _start(handle: Any, name: str) -> None:
    with lv.failing(f"cannot start network {name!r}", error=StateError):
        handle.create()


def start(name: str, uri: str) -> dict[str, Any]:
    with connect(uri) as conn:
        handle = _existing(conn, name, uri)
        if not handle.isActive():
            _start(handle, name)
        return describe(handle)


def stop(name: str, uri: str, *, force: bool = False) -> dict[str, Any]:
    """Stop a network (a transient one is then gone); refused while guests' taps are on its bridge."""
    with connect(uri) as conn:
        return _stop(_existing(conn, name, uri), uri, force, "stop")


def delete(name: str, uri: str, *, force: bool = False) -> dict[str, Any]:
    """Stop (if active) and undefine."""
    with connect(uri) as conn:
        handle = _existing(conn, name, uri)
        shown = _stop(handle, uri, force, "delete")
        if shown["persistent"]:
            with lv.failing(f"cannot undefine network {name!r}", error=StateError):
                handle.undefine()
        return shown


def _stop(handle: Any, uri: str, force: bool, verb: str) -> dict[str, Any]:
    shown = describe(handle)
    if shown["active"]:
        _refuse_if_used(shown, uri, force, verb)
        with lv.failing(f"cannot stop network {shown['name']!r}", error=StateError):
            handle.destroy()
    shown["active"] = False
    return shown


def _refuse_if_used(shown: dict[str, Any], uri: str, force: bool, verb: str) -> None:
    bridge = shown.get("bridge")
    if force or not bridge or not _local(uri):
        return
    try:
        ports = sorted(os.listdir(f"/sys/class/net/{bridge}/brif"))
    except OSError:
        return
    if ports:
        raise StateError(
            f"network {shown['name']!r} is in use: {', '.join(ports)} on its bridge {bridge}",
            hint=f"stop those guests first (vmrun ps), or vmrun net {verb} {shown['name']} --force",
        )


def describe(handle: Any) -> dict[str, Any]:
    """One network as `net list` shows it."""
    xml = lv.quietly(lambda: handle.XMLDesc(0))
    shown = spec.read_xml(xml) if xml is not None else {"forward": None, "bridge": None, "subnets": []}
    return {
        "name": handle.name(),
        "active": bool(handle.isActive()),
        "persistent": bool(handle.isPersistent()),
        "autostart": bool(handle.autostart()),
        "bridge": shown["bridge"],
        "subnet": shown["subnets"][0] if shown["subnets"] else None,
        "subnets": shown["subnets"],
        "forward": shown["forward"],
    }


def listing(uri: str) -> dict[str, Any]:
    """All networks of ``uri``; if libvirt cannot be reached, why, and no networks."""
    try:
        with connect(uri, readonly=True) as conn:
            nets = sorted(conn.listAllNetworks(0), key=lambda n: n.name())
            return {"uri": uri, "error": None, "networks": [describe(n) for n in nets]}
    except PreflightError as e:
        return {"uri": uri, "error": e.reason, "networks": []}


def _flags(shown: dict[str, Any]) -> str:
    words = ["active" if shown["active"] else "inactive", "persistent" if shown["persistent"] else "transient"]
    if shown["autostart"]:
        words.append("autostart")
    return ", ".join(words) + (f", bridge {shown['bridge']}" if shown.get("bridge") else "")


def summary(verb: str, shown: dict[str, Any]) -> str:
    subnet = f", subnet {shown['subnet']}" if shown.get("subnet") else ""
    return f"{shown['name']}: {verb} ({_flags(shown)}{subnet})"
