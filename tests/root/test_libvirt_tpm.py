"""[tpm] under libvirt, on a test libvirtd (tests/libvirt_hosts.py): libvirt's own swtpm gives the guest
its TPM, keeps its state by the domain's stable uuid across a transient domain's end, and goes with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import guest_profile
from tests.root.test_domain_xml_libvirtd import EMULATOR, lvhost, shared  # noqa: F401 (fixtures)
from vmrun.engines.libvirt.xml import domain_xml
from vmrun.engines.libvirt.xmltpm import domain_uuid
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

pytestmark = [pytest.mark.root, pytest.mark.guest]

PORT = 18090


def swtpm_pids() -> list[int]:
    """Running swtpm processes (compared before and after: the ones libvirt started for the domain)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat[stat.index("(") + 1 : stat.rindex(")")] == "swtpm" and stat[stat.rindex(")") + 2] != "Z":
                found.append(int(entry))
    return found


def test_guest_sees_libvirts_tpm_and_its_state_outlives_the_domain(lvhost, write_profile, shared):  # noqa: F811
    nics = f'[[nics]]\nid = "net0"\nhostfwd = ["tcp::{PORT}-:80"]\n'
    path = guest_profile(write_profile, shared, nics, extra='machine = "q35"\n[tpm]\n')
    built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
    assert built.warnings == ()
    before = set(swtpm_pids())
    state = lvhost.root / "lib" / "swtpm" / domain_uuid("g")

    dom = lvhost.conn.createXML(built.xml, 0)
    try:
        assert dom.UUIDString() == domain_uuid("g")
        assert "tpm0 version=2" in lvhost.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/tpm", timeout=120)
        assert set(swtpm_pids()) - before  # libvirt's, not vmrun's
    finally:
        dom.destroy()
    assert set(swtpm_pids()) <= before
    # persistent_state='yes': a transient domain's TPM stays, under the uuid the next `up` gives again.
    assert list(state.rglob("tpm2-00.permall")), sorted(str(p) for p in state.rglob("*"))


def test_a_domain_defined_without_a_tpm_keeps_its_uuid_when_it_gains_one(lvhost, write_profile, shared):  # noqa: F811
    """`up --persist` of a profile given a [tpm] after its domain was defined without one: the stable uuid
    vmrun gives a TPM domain would clash with libvirt's own for that name; the defined domain keeps its own."""
    from vmrun.engines.libvirt.up import up

    path = guest_profile(write_profile, shared, "", extra='machine = "q35"')
    up(load_profile(str(path)), lvhost.uri, persist=True).down(force=True)
    first = lvhost.conn.lookupByName("g").UUIDString()
    assert first != domain_uuid("g")
    path.write_text(path.read_text() + "\n[tpm]\n")
    vm = up(load_profile(str(path)), lvhost.uri, persist=True)
    try:
        dom = lvhost.conn.lookupByName("g")
        assert dom.UUIDString() == first and "<tpm " in dom.XMLDesc(0)
    finally:
        vm.down(force=True)
        lvhost.conn.lookupByName("g").undefine()
