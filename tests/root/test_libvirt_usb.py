"""[[usb]], [[pci]] and `vmrun usb` under libvirt, on a test libvirtd (tests/libvirt_hosts.py).

libvirt looks USB and PCI devices up on its host when a domain starts and when one is attached.
This host has no USB bus and no IOMMU, so what it can show is the validated XML and libvirt's own
refusal, said by vmrun in one line, with nothing left behind (no domain, no record); no guest
sees a passed-through device here.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import guest_profile, vmrun_bin
from tests.root.test_domain_xml_libvirtd import EMULATOR, lvhost, shared  # noqa: F401 (fixtures)
from tests.unit.test_domain_xml import validate
from vmrun.engines.libvirt.xml import domain_xml, read_metadata
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

pytestmark = [pytest.mark.root, pytest.mark.guest]

USB = '[[usb]]\nvendor = "046d"\nproduct = "c52b"\nid = "receiver"\n'


@pytest.fixture
def client(lvhost, tmp_path):  # noqa: F811
    """vmrun run in the libvirt host's namespace, with a private runtime folder."""
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(tmp_path / "client-run")}
    env.pop("VMRUN_CONNECT", None)

    def vmrun(*args: str):
        return lvhost.netns.run(vmrun_bin(), *args, env=env, timeout=300)

    return vmrun


def error_line(stderr: str) -> str:
    [line] = [x for x in stderr.splitlines() if x.startswith("vmrun: error:")]
    assert "Traceback" not in stderr
    return line


def test_usb_and_pci_domains_are_valid_and_libvirts_refusal_is_one_line(
    lvhost,  # noqa: F811
    client,
    write_profile,
    shared,  # noqa: F811
    tmp_path,
):
    existing = sorted(os.listdir("/sys/bus/pci/devices"))[0]
    # With an IOMMU, libvirt would rebind a real function (managed): only a missing one is passed then.
    hosts = ["0000:7f:1f.7"] + ([] if os.listdir("/sys/kernel/iommu_groups") else [existing])
    cases = [(USB, "cannot open directory '/sys/bus/usb/devices': No such file or directory")]
    cases += [
        (f'[[pci]]\nhost = "{h}"\n', "unsupported configuration: host doesn't support passthrough of host PCI devices")
        for h in hosts
    ]
    for i, (table, said) in enumerate(cases):
        path = guest_profile(write_profile, shared, "", extra=f'machine = "q35"\n{table}')
        built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
        validate(built.xml, tmp_path, f"domain{i}.xml")
        r = client("up", str(path), "-c", lvhost.uri)
        assert r.returncode == 1, r.stderr
        assert error_line(r.stderr) == f"vmrun: error: g: libvirt at {lvhost.uri} refused to start it: {said}"
        assert lvhost.conn.listAllDomains(0) == []

    # Defined, not started (libvirt looks the device up only at start): `usb list` reads the domain's XML.
    path = guest_profile(write_profile, shared, "", extra=f'machine = "q35"\n{USB}')
    dom = lvhost.conn.defineXML(domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR).xml)
    try:
        r = client("usb", "list", "g", "-c", lvhost.uri, "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == [
            {"id": "receiver", "device": "046d:c52b", "attached": False, "origin": "profile"}
        ]
    finally:
        dom.undefine()

    # A device by host port has no libvirt form: refused before libvirt is asked.
    path = guest_profile(write_profile, shared, "", extra='[[usb]]\nhost = "1-2"\n')
    r = client("up", str(path), "-c", lvhost.uri)
    assert r.returncode == 2
    assert error_line(r.stderr) == (
        "vmrun: error: g: a USB device by host port (usb[0].host) is not supported on the libvirt engine"
    )
    assert lvhost.conn.listAllDomains(0) == []


def metadata_usb(lvhost, name: str) -> list[dict]:  # noqa: F811
    return read_metadata(lvhost.conn.lookupByName(name).XMLDesc(0))["usb"]


def test_usb_add_is_libvirts_attach_refused_in_one_line(lvhost, client, write_profile, shared):  # noqa: F811
    # q35 with the machine's own USB (libvirt's default xhci): a controller a hostdev can go on.
    with_usb = guest_profile(write_profile, shared, "", extra='machine = "q35,usb=on"')
    without = guest_profile(write_profile, shared, "", name="h", extra='machine = "pc"')
    for path in (with_usb, without):
        r = client("up", str(path), "-c", lvhost.uri)
        assert r.returncode == 0, r.stderr
    try:
        r = client("usb", "add", "g", "046d:c52b", "--id", "receiver", "-c", lvhost.uri)
        assert r.returncode == 1
        assert error_line(r.stderr) == (
            "vmrun: error: g: libvirt could not attach USB 046d:c52b: "
            "cannot open directory '/sys/bus/usb/devices': No such file or directory"
        )
        assert metadata_usb(lvhost, "g") == []  # the record written first went again
        assert "<hostdev" not in lvhost.conn.lookupByName("g").XMLDesc(0)
        r = client("usb", "list", "g", "-c", lvhost.uri, "--json")
        assert r.returncode == 0 and json.loads(r.stdout) == []

        r = client("usb", "add", "g", "1-2", "-c", lvhost.uri)
        assert r.returncode == 2
        assert "g: a USB device by host port (1-2) is not supported on the libvirt engine" in error_line(r.stderr)

        # libvirt cannot hot-plug a USB controller ("'usb' controller cannot be hot plugged"): said first.
        r = client("usb", "add", "h", "046d:c52b", "-c", lvhost.uri)
        assert r.returncode == 2
        assert error_line(r.stderr) == (
            "vmrun: error: h: hot-plugging a USB controller is not supported on the libvirt engine"
        )
        assert metadata_usb(lvhost, "h") == []

        r = client("usb", "del", "g", "receiver", "-c", lvhost.uri)
        assert r.returncode == 2 and "g: no USB device 'receiver'" in error_line(r.stderr)
    finally:
        for name in ("g", "h"):
            assert client("down", name, "--force", "-c", lvhost.uri).returncode == 0
