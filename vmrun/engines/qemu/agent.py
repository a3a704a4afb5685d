"""The QEMU engine's guest agent calls (part of :class:`vmrun.engines.qemu.vm.Vm`): vmrun talks QGA
itself, on the socket in the run folder (:mod:`vmrun.adapters.qga`), and knows the host side of
each NIC for the addresses the agent cannot give."""

from __future__ import annotations

from typing import Any

from vmrun.adapters.qga import ANSWER_TIMEOUT, Qga
from vmrun.errors import AgentError, VmrunError

POWER_OFF_WAIT = 10.0  # after the agent's power-off, before `quit`


class AgentVm:
    run: Any
    name: str

    def agent(self, timeout: float = ANSWER_TIMEOUT) -> Qga:
        return Qga(self.name, self.run.agent, self.run.agent_lock, timeout=timeout)

    def agent_interfaces(self) -> list[dict[str, Any]]:
        with self.agent() as qga:
            return qga.execute("guest-network-get-interfaces")

    def agent_add_ssh_keys(self, user: str, keys: list[str]) -> None:
        with self.agent() as qga:
            qga.execute("guest-ssh-add-authorized-keys", {"username": user, "keys": keys, "reset": False})

    def agent_power_off(self) -> bool:
        """Ask the agent to power the guest off (its ACPI was ignored); whether it took the request."""
        if not self.run.agent.exists():
            return False
        try:
            with self.agent() as qga:
                qga.execute("guest-shutdown", {"mode": "powerdown"}, reply=False)
            return True
        except AgentError:
            return False

    def host_addresses(self) -> list[tuple[str, str, int | None, str]]:
        """(MAC, address, prefix, source) the host knows: a libvirt network's DHCP leases, the neighbour
        table of a NIC's bridge."""
        out: list[tuple[str, str, int | None, str]] = []
        for nic in self.require_state().nics:  # type: ignore[attr-defined]
            host = nic.host or {}
            if host.get("network"):
                out += _leases(host["network"], host.get("uri") or "qemu:///system", nic.mac)
            if host.get("bridge"):
                out += _neighbours(host["bridge"], nic.mac)
        return out


def _leases(network: str, uri: str, mac: str) -> list[tuple[str, str, int | None, str]]:
    from vmrun.adapters import libvirt as lv

    try:
        with lv.connect(uri, readonly=True) as conn:
            leases = lv.quietly(lambda: conn.networkLookupByName(network).DHCPLeases(mac)) or []
    except VmrunError:
        return []
    return [(mac, le["ipaddr"], le.get("prefix"), f"dhcp lease ({network})") for le in leases]


def _neighbours(bridge: str, mac: str) -> list[tuple[str, str, int | None, str]]:
    from vmrun.adapters import netlink

    try:
        found = netlink.neighbours(bridge)
    except (OSError, netlink.NetlinkError):
        return []
    return [(m, a, None, f"neighbour table ({bridge})") for m, a in found if m == mac.lower()]
