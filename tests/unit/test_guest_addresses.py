"""`vmrun ip`: addresses per NIC matched by MAC, from the agent, else from what the host knows, each with its source."""

from __future__ import annotations

import pytest

from vmrun.engines.guest import addresses, ipv4_first
from vmrun.errors import AgentError
from vmrun.runstate import NicState

MAC0, MAC1 = "52:54:00:00:00:01", "52:54:00:00:00:02"


class FakeVm:
    name = "f"

    def __init__(self, interfaces, host):
        self.interfaces, self.host = interfaces, host

    def require_state(self):
        class State:
            nics = [NicState("u0", "user", "virtio-net-pci", MAC0), NicState("b0", "bridge", "e1000", MAC1)]

        return State()

    def agent_interfaces(self):
        if isinstance(self.interfaces, Exception):
            raise self.interfaces
        return self.interfaces

    def host_addresses(self):
        return self.host


AGENT = [
    {"name": "lo", "hardware-address": "00:00:00:00:00:00", "ip-addresses": []},
    {
        "name": "eth1",
        "hardware-address": MAC1.upper(),
        "ip-addresses": [
            {"ip-address-type": "ipv6", "ip-address": "fe80::1", "prefix": 64},
            {"ip-address-type": "ipv6", "ip-address": "fd00::7", "prefix": 64},
            {"ip-address-type": "ipv4", "ip-address": "192.0.2.7", "prefix": 24},
        ],
    },
]


def test_the_agent_names_each_nics_addresses_by_mac_link_local_left_out():
    nics = addresses(FakeVm(AGENT, [(MAC1, "192.0.2.9", None, "neighbour table (br0)")]))
    assert nics[0] == {"nic": "u0", "mac": MAC0, "addresses": []}
    assert nics[1]["addresses"] == [
        {"address": "fd00::7", "prefix": 64, "source": "agent"},
        {"address": "192.0.2.7", "prefix": 24, "source": "agent"},
    ]
    assert ipv4_first(nics) == ["192.0.2.7", "fd00::7"]


def test_without_an_agent_the_host_knows_and_says_why():
    said = []
    host = [(MAC1, "192.0.2.7", 24, "dhcp lease (default)"), ("52:54:00:ff:ff:ff", "192.0.2.99", None, "x")]
    nics = addresses(FakeVm(AgentError("f: no guest agent answers in 3 s"), host), said.append)
    assert nics[1]["addresses"] == [{"address": "192.0.2.7", "prefix": 24, "source": "dhcp lease (default)"}]
    assert said == ["f: no guest agent answers in 3 s; addresses from what the host knows"]


def test_no_agent_and_nothing_known_is_the_agents_one_line():
    with pytest.raises(AgentError, match="no guest agent answers"):
        addresses(FakeVm(AgentError("f: no guest agent answers in 3 s"), []))


class FakeLibvirtError:
    """A libvirtError as libvirt raises it: its error code and message."""

    def __new__(cls, code: int, message: str):
        import libvirt

        e = libvirt.libvirtError(message)
        e.err = (code, 10, message, 2, None, None, None, 0, 0)
        return e


@pytest.mark.parametrize(
    "code, message, said",
    [
        (
            "VIR_ERR_ARGUMENT_UNSUPPORTED",
            "argument unsupported: QEMU guest agent is not configured",
            "no guest agent port",
        ),
        (
            "VIR_ERR_AGENT_UNRESPONSIVE",
            "Guest agent is not responding: QEMU guest agent is not connected",
            "no guest agent answers",
        ),
        ("VIR_ERR_OPERATION_FAILED", "operation failed: something else", "refused guest-network-get-interfaces"),
    ],
)
def test_libvirts_agent_errors_are_the_qemu_engines_lines(code, message, said):
    """A libvirt domain made with agent = false has no channel: libvirt says "not configured", which must read
    as the QEMU engine's "it has no guest agent port", not as a refusal by an agent that is not there."""
    libvirt = pytest.importorskip("libvirt")
    from vmrun.adapters.libvirt import agent_failing

    with pytest.raises(AgentError) as e, agent_failing("g", "guest-network-get-interfaces"):
        raise FakeLibvirtError(getattr(libvirt, code), message)
    assert e.value.message.startswith("g: ") and said in e.value.message
