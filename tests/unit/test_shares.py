"""[[shares]]: the keys and their checks, the argv part (pure), virtiofsd's command line, its host record,
and the domain XML part (validated by virt-xml-validate)."""

from __future__ import annotations

import os

import pytest

from tests.unit.test_domain_xml import build, compact, tree, validate
from vmrun.argv import build_argv
from vmrun.devices import shares
from vmrun.devices.shares import Daemon, Flavour
from vmrun.errors import NotSupported, ProfileError
from vmrun.net import hostobj
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, Share, ShareType
from vmrun.show import describe, option_lines

FS = '[[shares]]\nsource = "/srv/a,b"\ntag = "data"\n'
NINE = '[[shares]]\nsource = "/srv/ro"\ntag = "ro"\ntype = "9p"\nreadonly = true\n'
SOCK = "/run/vmrun/w/virtiofs0.sock"


def profile(write_profile, text: str):
    return load_profile(str(write_profile(f'name = "w"\naccel = "tcg"\nmemory = "512M"\n{text}', "w")))


def test_keys_and_defaults(write_profile):
    p = profile(write_profile, FS + NINE + '[[shares]]\nsource = "rel"\ntag = "r"\n')
    assert p.shares == (
        Share("/srv/a,b", "data"),
        Share("/srv/ro", "ro", ShareType.NINEP, readonly=True),
        Share(os.path.join(os.path.dirname(p.source), "rel"), "r"),  # relative to the profile's folder
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (FS + FS, r"shares\[1\]\.tag: 'data' is already the tag of another share"),
        ('[[shares]]\nsource = "/a"\ntag = "' + "t" * 37 + '"\n', r"shares\[0\]\.tag: .* 37 bytes; a virtiofs tag"),
        ('[[shares]]\nsource = "/a"\ntype = "9p"\ntag = "' + "t" * 32 + '"\n', r"32 bytes; a 9p tag holds at most 31"),
        ('[[shares]]\nsource = "/a"\ntag = "a b"\n', r"shares\[0\]\.tag: a tag is one word"),
        ('[[shares]]\nsource = "/a"\n', r"shares\[0\]\.tag: is required"),
        ('[[shares]]\nsource = "/a"\ntag = "t"\ntype = "nfs"\n', r"shares\[0\]\.type: 'nfs' is not one of"),
    ],
)
def test_refusals_name_the_field(write_profile, text, message):
    with pytest.raises(ProfileError, match=message):
        profile(write_profile, text)


def test_a_36_byte_virtiofs_tag_and_a_31_byte_9p_tag_are_taken(write_profile):
    text = (
        f'[[shares]]\nsource = "/a"\ntag = "{"v" * 36}"\n[[shares]]\nsource = "/b"\ntype = "9p"\ntag = "{"n" * 31}"\n'
    )
    assert [len(s.tag) for s in profile(write_profile, text).shares] == [36, 31]


def test_argv_part(write_profile):
    p = profile(write_profile, 'machine = "q35"\n' + FS + NINE)
    lines = option_lines(build_argv(p, {}, qemu="qemu", accel=Accel.TCG, share_sockets={"data": SOCK}))
    assert ["-machine", "q35,memory-backend=vmrun-mem"] in lines
    start = lines.index(["-object", "memory-backend-memfd,id=vmrun-mem,size=512M,share=on"])
    assert lines[start : start + 5] == [
        ["-object", "memory-backend-memfd,id=vmrun-mem,size=512M,share=on"],
        ["-chardev", f"socket,id=vmrun-fs0,path={SOCK}"],
        ["-device", "vhost-user-fs-pci,chardev=vmrun-fs0,tag=data"],
        ["-fsdev", "local,id=vmrun-9p1,path=/srv/ro,security_model=mapped-xattr,readonly=on"],
        ["-device", "virtio-9p-pci,fsdev=vmrun-9p1,mount_tag=ro"],
    ]


def test_9p_alone_needs_no_shared_memory_and_virtiofs_needs_its_socket(write_profile):
    argv = build_argv(profile(write_profile, NINE.replace("readonly = true", "")), {}, qemu="qemu", accel=Accel.TCG)
    assert "-machine" not in argv and not any("memory-backend" in a for a in argv)
    assert "local,id=vmrun-9p0,path=/srv/ro,security_model=mapped-xattr" in argv
    with pytest.raises(ValueError):
        build_argv(profile(write_profile, FS), {}, qemu="qemu", accel=Accel.TCG)


def test_show_prints_the_socket_in_the_run_folder(write_profile, runtime_dir):
    argv = describe(profile(write_profile, FS))["argv"]
    assert f"socket,id=vmrun-fs0,path={runtime_dir}/w/virtiofs0.sock" in argv
    assert "memory-backend=vmrun-mem" in argv


SHARE = Share("/srv/a", "data")


@pytest.mark.parametrize(
    ("daemon", "share", "expected"),
    [
        (Daemon("/usr/lib/qemu/virtiofsd", Flavour.C, False), SHARE, ["-o", "source=/srv/a", "-o", "cache=auto"]),
        (Daemon("/usr/libexec/virtiofsd", Flavour.RUST, True), SHARE, ["--shared-dir", "/srv/a", "--cache", "auto"]),
        (
            Daemon("/usr/libexec/virtiofsd", Flavour.RUST, True),
            Share("/srv/a", "data", readonly=True),
            ["--shared-dir", "/srv/a", "--cache", "auto", "--readonly"],
        ),
        (  # an older Rust one without --readonly: the read-only bind mount, as for the C one
            Daemon("/usr/libexec/virtiofsd", Flavour.RUST, False),
            Share("/srv/a", "data", readonly=True),
            ["--shared-dir", "/srv/a", "--cache", "auto"],
        ),
    ],
)
def test_virtiofsd_argv(daemon, share, expected):
    from pathlib import Path

    assert shares.virtiofsd_argv(daemon, share, Path(SOCK)) == [daemon.path, f"--socket-path={SOCK}", *expected]


def test_this_hosts_virtiofsd_is_found_and_told_apart():
    daemon = shares.find_daemon()
    assert daemon is not None, "Debian 12's qemu-system-common ships /usr/lib/qemu/virtiofsd"
    assert (daemon.path, daemon.flavour) == ("/usr/lib/qemu/virtiofsd", Flavour.C)


def test_host_record_round_trips():
    record = hostobj.Virtiofsd(SOCK, 1234, 99)
    data = hostobj.to_json(record)
    assert data == {"kind": "virtiofsd", "socket": SOCK, "pid": 1234, "start": 99}
    assert hostobj.from_json(data) == hostobj.Virtiofsd(SOCK)  # the same record before and after its pid
    assert hostobj.from_json({"kind": "virtiofsd", "socket": 5}) == "virtiofsd record: socket is 5"
    assert record.marker == (f"--socket-path={SOCK}",)


def test_release_of_a_record_for_another_folder_does_nothing(tmp_path):
    hostobj.Virtiofsd("/elsewhere/virtiofs0.sock", os.getpid(), None).release(tmp_path)  # not ours: left alone


# -- domain XML -------------------------------------------------------------------------------------


def test_domain_xml_filesystems_and_shared_memory(write_profile, tmp_path):
    built = build(write_profile, 'memory = "512M"\nmachine = "q35,mem-merge=off"\n' + FS + NINE)
    root = tree(built)
    assert [compact(f) for f in root.findall("devices/filesystem")] == [
        '<filesystem type="mount" accessmode="passthrough"><driver type="virtiofs"/>'
        '<source dir="/srv/a,b"/><target dir="data"/></filesystem>',
        '<filesystem type="mount" accessmode="mapped"><source dir="/srv/ro"/><target dir="ro"/><readonly/></filesystem>',
    ]
    assert compact(root.find("memoryBacking")) == (
        '<memoryBacking><nosharepages/><source type="memfd"/><access mode="shared"/></memoryBacking>'
    )
    assert [e.tag for e in root].index("memoryBacking") == [e.tag for e in root].index("memory") + 1
    validate(built.xml, tmp_path)


def test_domain_xml_9p_alone_shares_no_memory(write_profile, tmp_path):
    built = build(write_profile, NINE)
    assert tree(built).find("memoryBacking") is None
    validate(built.xml, tmp_path)


def test_domain_xml_refuses_readonly_virtiofs(write_profile):
    with pytest.raises(NotSupported) as e:
        build(write_profile, FS + "readonly = true\n")
    assert str(e.value) == "t: shares[0].readonly with virtiofs is not supported on the libvirt engine"


def test_doctor_names_the_virtiofsd_and_a_missing_source(write_profile, tmp_path):
    from vmrun import doctor

    assert doctor.virtiofsd_check(None).detail == "/usr/lib/qemu/virtiofsd (QEMU's C virtiofsd)"
    p = profile(write_profile, f'[[shares]]\nsource = "{tmp_path}/gone"\ntag = "t"\n')
    [check] = [c for c in doctor.profile_checks(p) if c.name == "shares"]
    assert (check.status, check.detail) == (doctor.FAIL, f"shares[0].source: {tmp_path}/gone does not exist")


def test_preflight_refusals_name_the_field(write_profile, tmp_path, runtime_dir, monkeypatch):
    (tmp_path / "d").mkdir()
    p = profile(write_profile, f'[[shares]]\nsource = "{tmp_path}/d"\ntag = "t"\nreadonly = true\n')
    with monkeypatch.context() as m, pytest.raises(ProfileError, match=r"shares\[0\]\.type: .*virtiofsd needs root"):
        m.setattr(os, "geteuid", lambda: 1000)  # QEMU 7.2's virtiofsd sandboxes itself: root only
        shares.preflight(p)
    monkeypatch.setenv("VMRUN_RUNTIME_DIR", "/tmp/" + "r" * 90)
    with pytest.raises(ProfileError, match=r"shares\[0\]: virtiofsd's socket .* longer than a unix socket's path"):
        shares.preflight(p)
