"""`agent = true` moves no device: the PCI addresses QEMU (and libvirt) give every other device are those
of the same profile with `agent = false`, on pc and q35. QEMU paused (-S): no guest needed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.root.test_domain_xml_libvirtd import EMULATOR, lvhost, shared  # noqa: F401 (fixtures)
from vmrun.engines.libvirt.xml import domain_xml
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

pytestmark = [pytest.mark.root]

DEVICES = """
[[nics]]
id = "n0"
hostfwd = ["tcp::18097-:80"]

[[nics]]
id = "n1"
model = "e1000"

[[drives]]
file = "{disk}"
format = "raw"
"""


def profile_text(name: str, machine: str, agent: bool, disk) -> str:
    return (
        f'name = "{name}"\naccel = "tcg"\nmemory = "128M"\nmachine = "{machine}"\nagent = {str(agent).lower()}\n'
        f'extra_args = ["-S"]\n' + DEVICES.format(disk=disk)
    )


def pci(vm, name: str) -> list[tuple]:
    buses = json.loads(vm("qmp", name, "query-pci").stdout)
    return sorted(
        (d["bus"], d["slot"], d["function"], d.get("qdev_id") or "", d["id"]["device"])
        for b in buses
        for d in b["devices"]
        if d.get("qdev_id") != "vmrun-agent"
    )


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_qemu_gives_every_other_device_the_same_slot(vm, write_profile, tmp_path, machine):
    disk = tmp_path / "d.raw"
    disk.write_bytes(b"\0" * 65536)
    layouts = {}
    for agent in (False, True):
        name = f"s{int(agent)}"
        path = write_profile(profile_text(name, machine, agent, disk).replace("18097", str(18097 + agent)), name)
        r = vm("up", str(path))
        assert r.returncode == 0, r.stderr
        try:
            layouts[agent] = pci(vm, name)
            if agent:
                buses = json.loads(vm("qmp", name, "query-pci").stdout)
                assert any(d.get("qdev_id") == "vmrun-agent" for b in buses for d in b["devices"])
        finally:
            assert vm("down", name, "--force").returncode == 0
    assert layouts[True] == layouts[False]


def pci_addresses(xml: str) -> list[tuple]:
    """Each device's PCI address in libvirt's live XML, but the guest agent's virtio-serial controller."""
    out = []
    for parent in ET.fromstring(xml).find("devices"):
        if parent.tag == "controller" and parent.get("type") == "virtio-serial":
            continue
        a = parent.find("address")
        if a is not None and a.get("type") == "pci":
            out.append((parent.tag, parent.get("type"), a.get("bus"), a.get("slot"), a.get("function")))
    return sorted(out)


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_libvirt_gives_every_other_device_the_same_slot(lvhost, write_profile, shared, machine):  # noqa: F811
    import libvirt

    disk = shared / "scratch.raw"  # where libvirt's QEMU user can read it
    layouts = {}
    for agent in (False, True):
        path = write_profile(profile_text("g", machine, agent, disk), f"g{int(agent)}")
        xml = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR).xml
        dom = lvhost.conn.createXML(xml, libvirt.VIR_DOMAIN_START_PAUSED)
        try:
            live = dom.XMLDesc(0)
            layouts[agent] = pci_addresses(live)
            assert ("org.qemu.guest_agent.0" in live) == agent
        finally:
            dom.destroy()
    assert layouts[True] == layouts[False]
