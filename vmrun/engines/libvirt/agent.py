"""The libvirt engine's guest agent calls (part of :class:`vmrun.engines.libvirt.vm.LibvirtVm`).

libvirt owns the agent's socket, so every call goes through libvirt, on this host or another:
``qemuAgentCommand`` (libvirt_qemu) for the QGA commands vmrun sends itself (guest-exec, the file
calls), ``interfaceAddresses`` and ``authorizedSSHKeysSet`` where libvirt has a call of its own,
``shutdownFlags(GUEST_AGENT)`` for the power-off. libvirt serialises the agent's clients itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vmrun.adapters import libvirt as lv
from vmrun.adapters.qga import ANSWER_TIMEOUT, answer

POWER_OFF_WAIT = 10.0


class LibvirtAgent:
    """``execute()`` as :class:`vmrun.adapters.qga.Qga` has it, through libvirt's agent passthrough."""

    def __init__(self, vm: str, dom: Any, timeout: float) -> None:
        self.vm, self.dom, self.timeout = vm, dom, timeout

    def execute(
        self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float | None = None, reply: bool = True
    ) -> Any:
        sent = json.dumps({"execute": command, **({"arguments": arguments} if arguments else {})})
        wait = max(1, math.ceil(self.timeout if timeout is None else timeout))
        with lv.agent_failing(self.vm, command):
            out = lv.agent_command(self.dom, sent, wait)
        return answer(self.vm, command, json.loads(out)) if reply and out else None


class LibvirtAgentVm:
    name: str

    def domain(self) -> Any: ...  # LibvirtVm's

    @contextmanager
    def agent(self, timeout: float = ANSWER_TIMEOUT) -> Iterator[LibvirtAgent]:
        with self.domain() as dom:
            yield LibvirtAgent(self.name, dom, timeout)

    def agent_interfaces(self) -> list[dict[str, Any]]:
        libvirt = lv.quiet_libvirt()
        with self.domain() as dom, lv.agent_failing(self.name, "guest-network-get-interfaces"):
            found = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
        return [_as_qga(name, iface) for name, iface in found.items()]

    def agent_add_ssh_keys(self, user: str, keys: list[str]) -> None:
        libvirt = lv.quiet_libvirt()
        with self.domain() as dom, lv.agent_failing(self.name, "guest-ssh-add-authorized-keys"):
            dom.authorizedSSHKeysSet(user, keys, libvirt.VIR_DOMAIN_AUTHORIZED_SSH_KEYS_SET_APPEND)

    def host_addresses(self) -> list[tuple[str, str, int | None, str]]:
        """What libvirt knows without the agent: its networks' DHCP leases, then its host's ARP table; on this
        host also the neighbour table of each interface's bridge, read here (libvirt 9.0's own ARP source
        fails with "wrong nlmsg len" on this kernel)."""
        libvirt = lv.quiet_libvirt()
        out: list[tuple[str, str, int | None, str]] = []
        with self.domain() as dom:
            for source, label in (
                (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, "dhcp lease (libvirt)"),
                (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, "neighbour table (libvirt)"),
            ):
                for name, iface in (lv.quietly(lambda s=source: dom.interfaceAddresses(s)) or {}).items():
                    for a in _as_qga(name, iface)["ip-addresses"]:
                        out.append((iface.get("hwaddr") or "", a["ip-address"], a["prefix"], label))
            xml = dom.XMLDesc(0) if self.host == "local" else None  # type: ignore[attr-defined]
        if xml is not None:
            out += _bridge_neighbours(xml)
        return out


def _as_qga(name: str, iface: dict[str, Any]) -> dict[str, Any]:
    """libvirt's {hwaddr, addrs: [{type, addr, prefix}]} in the agent's own shape."""
    addrs = [
        {
            "ip-address": a["addr"],
            "prefix": a.get("prefix"),
            "ip-address-type": "ipv6" if a.get("type") == 1 else "ipv4",
        }
        for a in iface.get("addrs") or []
    ]
    return {"name": name, "hardware-address": iface.get("hwaddr"), "ip-addresses": addrs}


def _bridge_neighbours(xml: str) -> list[tuple[str, str, int | None, str]]:
    """This host's neighbour table on the bridge of each of the domain's interfaces, by the interface's MAC."""
    import xml.etree.ElementTree as ET

    from vmrun.adapters import netlink

    out: list[tuple[str, str, int | None, str]] = []
    for iface in ET.fromstring(xml).iter("interface"):
        mac, source = iface.find("mac"), iface.find("source")
        bridge = source.get("bridge") if source is not None else None
        if mac is None or not bridge:
            continue
        try:
            found = netlink.neighbours(bridge)
        except (OSError, netlink.NetlinkError):
            continue
        wanted = (mac.get("address") or "").lower()
        out += [(m, a, None, f"neighbour table ({bridge})") for m, a in found if m == wanted]
    return out
