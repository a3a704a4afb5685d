"""Bad input: exit code 2 and one line that names the file and the field, with no traceback."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from vmrun.cli import app
from vmrun.profile import load_profile

runner = CliRunner()

GOOD_NIC = '[[nics]]\nid = "n0"\ntype = "user"\n'


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stderr.strip(), result.stdout


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('name = "x"\nmemory = \n', None, "not valid TOML"),
        ('name = "x"\nmemroy = "1G"\n', "memroy", "did you mean 'memory'"),
        ('name = "x"\nmemory = "lots"\n', "memory", "'lots' is not a size"),
        ('name = "x"\nsmp = 0\n', "smp", "out of range"),
        ('name = "x"\nsmp = "four"\n', "smp", "expected an integer"),
        ('name = "x"\naccel = "fast"\n', "accel", "kvm | tcg | auto"),
        ('name = "x"\n[[nics]]\nmac = "00:16:3e:0c:21"\n', "nics[0].mac", "not a MAC address"),
        ('name = "x"\n[[nics]]\nmac = "01:16:3e:0c:21:28"\n', "nics[0].mac", "multicast"),
        ('name = "x"\n' + GOOD_NIC + GOOD_NIC, "nics[1].id", "already the id of nics[0]"),
        (
            'name = "x"\n[[nics]]\nmac = "52:54:00:00:00:01"\n[[nics]]\nmac = "52:54:00:00:00:01"\n',
            "nics[1].mac",
            "already the MAC",
        ),
        ('name = "x"\n[[nics]]\nhostfwd = ["tcp:19888:22"]\n', "nics[0].hostfwd[0]", "is not a forward"),
        ('name = "x"\n[[nics]]\nhostfwd = ["tcp::99999-:22"]\n', "nics[0].hostfwd[0]", "out of range"),
        ('name = "x"\n[[nics]]\ntype = "wifi"\n', "nics[0].type", "is not one of"),
        ('name = "x"\n[[nics]]\ntype = "bridge"\n', "nics[0].bridge", "is required"),
        ('name = "x"\n[[nics]]\ntype = "user"\nbridge = "br0"\n', "nics[0].bridge", "does not apply"),
        ('name = "x"\ncpu = "host,+vmx,,x"\n', "cpu", "is not a CPU flag"),
        ('name = "x"\n[[nics]]\nmodel = "e1000,bus=pci.9"\n', "nics[0].model", "not a plain name"),
        ('name = "x"\n[spice]\naddr = "0.0.0.0"\n', "spice.port", "is required"),
        ('name = "x y"\n', "name", "not a usable name"),
    ],
)
def test_bad_profile_is_one_line_naming_file_and_field(write_profile, text, field, words):
    path = write_profile(text)
    code, err, _ = run("show", str(path))
    assert code == 2
    assert len(err.splitlines()) <= 2, err  # the message, and at most one hint line
    first = err.splitlines()[0]
    assert first.startswith(f"vmrun: error: {path}")
    if field:
        assert f": {field}: " in first
    assert words in err
    assert "Traceback" not in err


def test_missing_profile_name(runtime_dir):
    code, err, _ = run("show", "no-such-vm")
    assert code == 2 and "no profile named 'no-such-vm'" in err


def test_bad_set_override_names_the_option(write_profile):
    path = write_profile('name = "x"\n')
    code, err, _ = run("show", str(path), "--set", "smp=0")
    assert code == 2 and ": smp: " in err
    code, err, _ = run("show", str(path), "--set", "nics.3.mac=x")
    assert code == 2 and "--set nics.3.mac" in err
    code, err, _ = run("show", str(path), "--memory", "lots")
    assert code == 2 and "memory: 'lots' is not a size" in err


def test_set_reaches_nested_scalars(write_profile):
    path = write_profile('name = "x"\n[spice]\nport = 5900\n[[nics]]\nhostfwd = ["tcp::2222-:22"]\n')
    from vmrun.profile.load import parse_override

    profile = load_profile(str(path), overrides=[parse_override("spice.port=5901"), parse_override("nics[0].mac=52:54:00:aa:bb:cc")])
    assert profile.spice.port == 5901 and profile.nics[0].mac == "52:54:00:aa:bb:cc"


def test_missing_disk_is_caught_before_anything_starts(write_profile, runtime_dir):
    path = write_profile('name = "x"\naccel = "tcg"\n[[drives]]\nfile = "/nonexistent/disk.qcow2"\n')
    code, err, _ = run("up", str(path))
    assert code == 2
    assert f"{path}: drives[0].file: /nonexistent/disk.qcow2 does not exist" in err
    assert not (runtime_dir / "x").exists()


def test_missing_qemu_binary(write_profile, runtime_dir):
    path = write_profile('name = "x"\naccel = "tcg"\nqemu = "/opt/nowhere/qemu-system-x86_64"\n')
    code, err, _ = run("up", str(path))
    assert code == 2 and ": qemu: QEMU binary '/opt/nowhere/qemu-system-x86_64' not found" in err


def test_taken_port_is_caught_before_anything_starts(write_profile, runtime_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        path = write_profile(f'name = "x"\naccel = "tcg"\n[[nics]]\nhostfwd = ["tcp::{port}-:22"]\n')
        code, err, _ = run("up", str(path))
    assert code == 2
    assert f"nics[0].hostfwd[0]: host port 127.0.0.1:{port}/tcp cannot be bound" in err
    assert not (runtime_dir / "x").exists()


def test_missing_bridge_for_helper(write_profile, runtime_dir):
    path = write_profile('name = "x"\naccel = "tcg"\n[[nics]]\ntype = "bridge"\nbridge = "nosuchbr9"\nvia = "helper"\n')
    code, err, _ = run("up", str(path))
    assert code == 2 and "nics[0].bridge: there is no Linux bridge 'nosuchbr9'" in err


def test_down_of_unknown_vm(runtime_dir):
    code, err, _ = run("down", "ghost")
    assert code == 1 or code == 2
    assert "ghost: not running" in err


def test_forward_without_address_binds_loopback(write_profile):
    path = write_profile('name = "x"\n[[nics]]\nhostfwd = ["tcp::2222-:22", "tcp:0.0.0.0:8080-:80"]\n')
    fwds = [str(f) for f in load_profile(str(path)).nics[0].hostfwd]
    assert fwds == ["tcp:127.0.0.1:2222-:22", "tcp:0.0.0.0:8080-:80"]


def test_stable_mac_depends_only_on_names(write_profile):
    a = load_profile(str(write_profile('name = "vm1"\n[[nics]]\nid = "n0"\n[[nics]]\nid = "n1"\n', "a")))
    b = load_profile(str(write_profile('name = "vm1"\nmemory = "2G"\n[[nics]]\nid = "n0"\n', "b")))
    assert a.nics[0].mac == b.nics[0].mac
    assert a.nics[0].mac != a.nics[1].mac
    assert all(n.mac.startswith("52:54:00:") for n in a.nics)
