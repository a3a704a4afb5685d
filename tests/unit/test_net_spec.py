"""Host network descriptions: defaults, checks naming the key, the libvirt XML (escaped, as the seed's)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vmrun.errors import ProfileError
from vmrun.hostnet import spec
from vmrun.profile.load import parse_profile
from vmrun.profile.model import NetKind, Network


def test_seed_network_is_one_command():
    net = spec.complete(Network("jrgnet", subnet="192.168.128.0/24", bridge="jrgbr0"))
    assert net.dhcp_range == ("192.168.128.2", "192.168.128.254") and net.autostart
    assert spec.network_xml(net) == (
        "<network>\n"
        "  <name>jrgnet</name>\n"
        '  <forward mode="nat">\n'
        "    <nat>\n"
        '      <port start="1024" end="65535" />\n'
        "    </nat>\n"
        "  </forward>\n"
        '  <bridge name="jrgbr0" stp="on" delay="0" />\n'
        '  <ip address="192.168.128.1" netmask="255.255.255.0">\n'
        "    <dhcp>\n"
        '      <range start="192.168.128.2" end="192.168.128.254" />\n'
        "    </dhcp>\n"
        "  </ip>\n"
        "</network>"
    )


def test_xml_is_escaped_and_reads_back():
    net = spec.complete(Network("a<b>&'c\"", kind=NetKind.ROUTE, subnet="10.1.0.0/30", uplink="eth1"))
    root = ET.fromstring(spec.network_xml(net))
    assert root.findtext("name") == "a<b>&'c\""
    assert root.find("forward").attrib == {"mode": "route", "dev": "eth1"}
    assert spec.read_xml(spec.network_xml(net)) == {
        "forward": "route",
        "bridge": net.bridge,
        "subnets": ["10.1.0.0/30"],
    }
    isolated = spec.complete(Network("iso", kind=NetKind.ISOLATED))
    assert spec.read_xml(spec.network_xml(isolated)) == {"forward": "isolated", "bridge": "vr-iso", "subnets": []}


@pytest.mark.parametrize("name", ["jrgnet", "a-very-long-network-name", "a-very-long-network-nam", "名前", "x y"])
def test_default_bridge_fits_and_differs(name):
    bridge = spec.default_bridge(name)
    assert len(bridge.encode()) <= 15
    spec.check_ifname(bridge)
    assert spec.default_bridge(name) == bridge
    if name == "jrgnet":
        assert bridge == "vr-jrgnet"
    assert spec.default_bridge("a-very-long-network-name") != spec.default_bridge("a-very-long-network-nam")


@pytest.mark.parametrize(
    ("net", "key", "words"),
    [
        (Network("n"), "subnet", "needs a subnet"),
        (Network("n", kind=NetKind.ISOLATED, dhcp_range=("10.0.0.2", "10.0.0.9")), "dhcp_range", "needs a subnet"),
        (Network("n", subnet="10.0.0.0/24", dhcp_range=("10.0.0.2", "10.0.1.9")), "dhcp_range", "not inside"),
        (Network("n", subnet="10.0.0.0/24", dhcp_range=("10.0.0.1", "10.0.0.9")), "dhcp_range", "host's own address"),
        (Network("n", subnet="10.0.0.0/24", bridge="b" * 16), "bridge", "not a network interface name"),
        (Network("n", kind=NetKind.BRIDGE, subnet="10.0.0.0/24"), "subnet", "does not apply"),
        (Network("a-long-bridge-name", kind=NetKind.BRIDGE), "name", "its bridge's"),
        (Network("n/1", subnet="10.0.0.0/24"), "name", "not a usable network name"),
    ],
)
def test_complete_names_the_key(net, key, words):
    with pytest.raises(spec.SpecError) as e:
        spec.complete(net)
    assert e.value.key == key and words in str(e.value)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("192.168.128.1/24", "write 192.168.128.0/24"),
        ("192.168.128.0", "write 192.168.128.0/32"),
        ("fd00::/64", "not an IPv4 subnet"),
        ("10.0.0.0/31", "too small"),
    ],
)
def test_subnet_errors(value, words):
    with pytest.raises(ValueError, match=words):
        spec.parse_subnet(value)


def test_profile_networks_are_parsed_and_completed():
    raw = {
        "name": "p",
        "networks": [
            {"name": "jrgnet", "subnet": "192.168.128.0/24"},
            {"name": "jrgbr1", "kind": "bridge", "uplink": "ens1f0"},
            {"name": "ovsbr0", "kind": "ovs"},
        ],
    }
    profile = parse_profile(raw, "p.toml", default_name="p")
    nat, bridge, ovs = profile.networks
    assert nat == Network(
        "jrgnet", subnet="192.168.128.0/24", bridge="vr-jrgnet", dhcp_range=("192.168.128.2", "192.168.128.254")
    )
    assert bridge == Network("jrgbr1", kind=NetKind.BRIDGE, uplink="ens1f0")
    assert ovs.kind is NetKind.OVS
    assert parse_profile({"name": "p"}, "p.toml", default_name="p").networks == ()


@pytest.mark.parametrize(
    ("network", "field", "words"),
    [
        ({"subnet": "10.0.0.0/24"}, "networks[0].name", "is required"),
        ({"name": "n", "kind": "wifi"}, "networks[0].kind", "nat | isolated | route | bridge | ovs"),
        ({"name": "n", "subnet": "10.0.0.1/24"}, "networks[0].subnet", "write 10.0.0.0/24"),
        ({"name": "n", "subnet": "10.0.0.0/24", "dhcp_range": "10.0.0.9"}, "networks[0].dhcp_range", "FIRST-LAST"),
        (
            {"name": "n", "kind": "bridge", "subnet": "10.0.0.0/24"},
            "networks[0].subnet",
            "does not apply to a network of kind 'bridge'",
        ),
        (
            {"name": "n", "subnet": "10.0.0.0/24", "autostrat": True},
            "networks[0].autostrat",
            "did you mean 'autostart'",
        ),
        ({"name": "n"}, "networks[0].subnet", "needs a subnet"),
    ],
)
def test_profile_network_errors_name_the_field(network, field, words):
    with pytest.raises(ProfileError) as e:
        parse_profile({"name": "p", "networks": [network]}, "p.toml", default_name="p")
    assert e.value.field == field and words in f"{e.value.reason} {e.value.hint}", e.value.message


def test_two_networks_of_one_name():
    net = {"name": "n", "subnet": "10.0.0.0/24"}
    with pytest.raises(ProfileError) as e:
        parse_profile({"name": "p", "networks": [net, net]}, "p.toml", default_name="p")
    assert e.value.field == "networks[1].name"
