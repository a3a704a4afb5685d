"""[[shares]] under libvirt, on a test libvirtd (tests/libvirt_hosts.py): libvirt's own virtiofsd serves a
virtiofs share (the domain's memory a shared memfd), QEMU's 9p a read-only one; a read-only virtiofs share
is refused before libvirt is asked (libvirt 9.0 cannot)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import guest_profile
from tests.guest.test_shares import shares
from tests.root.test_domain_xml_libvirtd import EMULATOR, lvhost, shared  # noqa: F401 (fixtures)
from vmrun.engines.libvirt.xml import domain_xml
from vmrun.errors import NotSupported
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

pytestmark = [pytest.mark.root, pytest.mark.guest]

PORT = 18091


def virtiofsd_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-x", "virtiofsd"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split() if Path(f"/proc/{p}/stat").read_text().split(")")[1].split()[0] != "Z"}


@pytest.fixture
def folders():
    """Two folders libvirt's QEMU user can read (9p is served by QEMU itself; virtiofsd runs as root)."""
    root = Path(tempfile.mkdtemp(prefix="vmrun-sh-"))
    try:
        root.chmod(0o755)
        for name, text in (("fs", "via-virtiofs"), ("nine", "via-9p")):
            (root / name).mkdir(mode=0o755)
            (root / name / "hello").write_text(text + "\n")
            (root / name / "hello").chmod(0o644)
        yield root
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_guest_reads_virtiofs_and_9p_shares_under_libvirt(lvhost, write_profile, shared, folders, tmp_path):  # noqa: F811
    nics = f'[[nics]]\nid = "net0"\nhostfwd = ["tcp::{PORT}-:80"]\n'
    extra = shares((folders / "fs", "fs", "virtiofs", False), (folders / "nine", "nine", "9p", True))
    path = guest_profile(write_profile, shared, nics + extra)
    built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
    (tmp_path / "domain.xml").write_text(built.xml)
    r = subprocess.run(["virt-xml-validate", str(tmp_path / "domain.xml"), "domain"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    before = virtiofsd_pids()

    dom = lvhost.conn.createXML(built.xml, 0)
    try:
        assert virtiofsd_pids() - before  # libvirt's, not vmrun's
        answer = lvhost.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/share?tag=fs&write=from-guest", timeout=120)
        assert "type virtiofs" in answer and "file hello via-virtiofs" in answer, answer
        assert "wrote from-guest" in answer and (folders / "fs" / "from-guest").read_text() == "from-guest\n"
        answer = lvhost.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/share?tag=nine&write=nope")
        assert "type 9p" in answer and "file hello via-9p" in answer, answer
        assert "write failed: Read-only file system" in answer, answer
    finally:
        dom.destroy()
    assert virtiofsd_pids() <= before


def test_readonly_virtiofs_is_not_supported_under_libvirt(lvhost, write_profile, shared, folders):  # noqa: F811
    from vmrun.engines.libvirt.up import up

    path = guest_profile(write_profile, shared, "", extra=shares((folders / "fs", "fs", "virtiofs", True)))
    with pytest.raises(NotSupported) as e:
        up(load_profile(str(path)), lvhost.uri)
    assert e.value.message == "g: shares[0].readonly with virtiofs is not supported on the libvirt engine"
    assert lvhost.conn.listAllDomains() == []
