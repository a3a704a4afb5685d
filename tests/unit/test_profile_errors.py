"""Bad input: exit code 2 and one line that names the file and the field, with no traceback."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from vmrun.cli import app
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.fields import check_vm_name, parse_rule_arg
from vmrun.profile.load import option_for_nic_key, parse_cli_nic

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


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["--set", "memroy=4G"], "vmrun: error: --set memroy=4G: unknown key"),
        (["--set", "smp=0"], "vmrun: error: --set smp=0: 0 is out of range 1-4096"),
        (["--set", "smp=four"], "vmrun: error: --set smp=four: expected an integer, got 'four'"),
        (["--set", "nics.3.mac=x"], "vmrun: error: --set nics.3.mac=x: no item '3' in nics"),
        (["--set", "nics.0.mac=zz"], "vmrun: error: --set nics.0.mac=zz: 'zz' is not a MAC address"),
        (
            ["--set", "nics[0].hostfwd[0]=tcp:1"],
            "vmrun: error: --set nics[0].hostfwd[0]=tcp:1: 'tcp:1' is not a forward",
        ),
        (["--set", 'nics.0.hostfwd=["x"]'], 'vmrun: error: --set nics.0.hostfwd=["x"]: only scalars can be set'),
        (["--set", "spice={port=0}"], "vmrun: error: --set spice={port=0}: 0 is out of range 1-65535"),
        (["--set", "nothing"], "vmrun: error: --set nothing: write key=value"),
        (["--memory", "lots"], "vmrun: error: --memory lots: 'lots' is not a size"),
        (["-m", "1.5K"], "vmrun: error: --memory 1.5K: '1.5K' is not a whole number of MiB"),
        (["--smp", "0"], "vmrun: error: --smp 0: 0 is out of range 1-4096"),
        (["--set", "smp=2", "--smp", "0"], "vmrun: error: --smp 0: "),
    ],
)
def test_override_error_names_what_was_typed(write_profile, args, first):
    path = write_profile('name = "x"\n[[nics]]\nhostfwd = ["tcp::2222-:22"]\n')
    code, err, _ = run("show", str(path), *args)
    assert code == 2
    assert err.splitlines()[0].startswith(first), err
    assert str(path) not in err and "Traceback" not in err


def test_override_typo_gets_a_hint(write_profile):
    code, err, _ = run("show", str(write_profile('name = "x"\n')), "--set", "memroy=4G")
    assert code == 2 and err.splitlines()[1] == "  hint: did you mean 'memory'?"


def test_error_the_override_did_not_touch_names_the_file(write_profile):
    path = write_profile('name = "x"\nmemory = "lots"\n[spice]\nport = 5900\n')
    code, err, _ = run("show", str(path), "--smp", "2", "--set", "spice.port=5901")
    assert code == 2 and err.splitlines()[0].startswith(f"vmrun: error: {path}: memory: 'lots' is not a size")


def test_unlabelled_override_is_blamed_on_the_file(write_profile):
    path = write_profile('name = "x"\n')
    with pytest.raises(ProfileError) as e:
        load_profile(str(path), overrides=[("smp", 0)])
    assert (e.value.source, e.value.field) == (str(path), "smp")


def test_set_reaches_nested_scalars(write_profile):
    path = write_profile('name = "x"\n[spice]\nport = 5900\n[[nics]]\nhostfwd = ["tcp::2222-:22"]\n')
    from vmrun.profile.load import parse_override

    profile = load_profile(
        str(path), overrides=[parse_override("spice.port=5901"), parse_override("nics[0].mac=52:54:00:aa:bb:cc")]
    )
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


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "ovs", "bridge": "br0", "vlan": 5000}, "--vlan 5000: 5000 is out of range 1-4094"),
        ({"type": "ovs", "bridge": "br-\n"}, "--ovs br-\\x0a: contains a control character (U+000A)"),
        ({"type": "bridge", "bridge": "br0", "mac": "zz"}, "--mac zz: 'zz' is not a MAC address"),
        ({"type": "bridge", "bridge": "br0", "id": "9x"}, "--id 9x: '9x' is not a QEMU id"),
        (
            {"type": "bridge", "bridge": "br0", "model": "e1000,x=y"},
            "--model e1000,x=y: 'e1000,x=y' is not a plain name",
        ),
        ({"type": "bridge", "bridge": "br0", "via": "pipe"}, "--via pipe: 'pipe' is not one of auto | helper | tap"),
        ({"type": "bridge", "bridge": "br0", "vhost": "yes"}, "--vhost yes: 'yes' is not one of auto | on | off"),
        ({"type": "bridge", "bridge": "br0", "vlan": 5}, "--vlan 5: does not apply to a NIC of type 'bridge'"),
        ({"type": "bridge"}, "--bridge: is required"),
        ({"type": "macvtap", "parent": "eth0", "mode": "foo"}, "--mode foo: 'foo' is not one of bridge | vepa"),
        ({"type": "macvtap", "parent": "eth\t0"}, "--macvtap eth\\x090: contains a control character (U+0009)"),
        (
            {"type": "network", "network": "de\x7ffault"},
            "--network de\\x7ffault: contains a control character (U+007F)",
        ),
        ({"type": "user", "hostfwd": ["tcp::2222-:22", "tcp:1"]}, "--hostfwd tcp:1: 'tcp:1' is not a forward"),
        ({"type": "passt", "hostfwd": ["tcp::99999-:22"]}, "--hostfwd tcp::99999-:22: 'tcp::99999-:22': port 99999"),
    ],
)
def test_cli_nic_error_names_the_option(raw, message):
    with pytest.raises(ProfileError) as e:
        parse_cli_nic(raw, "vm1", 0)
    assert e.value.source is None
    assert e.value.message.startswith(message), e.value.message


def test_cli_nic_is_parsed_as_a_table_is():
    nic = parse_cli_nic({"type": "ovs", "bridge": "br0", "vlan": 10, "id": "up"}, "vm1", 3)
    assert (nic.type, nic.bridge, nic.vlan, nic.id) == ("ovs", "br0", 10, "up")
    assert nic.mac == parse_cli_nic({"type": "user", "id": "up"}, "vm1", 0).mac  # stable: VM and NIC names only


@pytest.mark.parametrize(
    ("nic_type", "key", "option"),
    [
        ("ovs", "bridge", "--ovs"),
        ("bridge", "bridge", "--bridge"),
        ("macvtap", "parent", "--macvtap"),
        ("user", "hostfwd[0]", "--hostfwd"),
        ("ovs", "nics[2].vlan", "--vlan"),
        ("network", "network", "--network"),
        ("bridge", "vhost", "--vhost"),
        ("macvtap", "mode", "--mode"),
    ],
)
def test_option_for_nic_key(nic_type, key, option):
    assert option_for_nic_key(nic_type, key) == option


@pytest.mark.parametrize(
    ("text", "host_side_only", "rule"),
    [
        ("tcp::2222-:22", False, "tcp:127.0.0.1:2222-:22"),
        ("udp:0.0.0.0:5353-10.0.2.15:53", False, "udp:0.0.0.0:5353-10.0.2.15:53"),
        ("tcp:127.0.0.1:2222", True, "tcp:127.0.0.1:2222-:1"),
        ("tcp::2222", True, "tcp:127.0.0.1:2222-:1"),
        (":2222", True, "tcp:127.0.0.1:2222-:1"),
        ("udp:0.0.0.0:5353", True, "udp:0.0.0.0:5353-:1"),
        ("tcp::2222-:22", True, "tcp:127.0.0.1:2222-:22"),
    ],
)
def test_rule_arg(text, host_side_only, rule):
    assert str(parse_rule_arg(text, host_side_only=host_side_only)) == rule


@pytest.mark.parametrize(
    ("text", "host_side_only", "message"),
    [
        (
            "18083:80",
            False,
            "'18083:80' is not a forward; write proto:hostaddr:hostport-guestaddr:guestport, e.g. tcp::2222-:22",
        ),
        ("tcp::2222", False, "'tcp::2222' is not a forward; write proto:hostaddr:hostport-guestaddr:guestport"),
        ("tcp::2222-:99999", False, "'tcp::2222-:99999': port 99999 is out of range 1-65535"),
        ("tcp:1.2.3:2222-:22", False, "'tcp:1.2.3:2222-:22': '1.2.3' is not an IPv4 address"),
        ("2222", True, "'2222' is not a forward; write proto:hostaddr:hostport, e.g. tcp::2222 or :2222"),
        (":0", True, "':0': port 0 is out of range 1-65535"),
        ("tcp:localhost:2222", True, "'tcp:localhost:2222': 'localhost' is not an IPv4 address"),
    ],
)
def test_rule_arg_echoes_what_was_typed(text, host_side_only, message):
    with pytest.raises(ProfileError) as e:
        parse_rule_arg(text, host_side_only=host_side_only)
    assert (e.value.source, e.value.field) == (None, None)
    assert e.value.message.startswith(message), e.value.message
    assert "-:1" not in e.value.message  # never a form the user did not type


@pytest.mark.parametrize("name", ["vm1", "jrg.test-2_b", "A" * 64])
def test_vm_name_accepted(name):
    assert check_vm_name(name) == name


@pytest.mark.parametrize("name", ["", "../etc", "a/b", ".hidden", "-x", "x y", "A" * 65, "vm\n"])
def test_vm_name_refused(name):
    with pytest.raises(ValueError, match="not a usable name: letters, digits, '_', '.', '-'.*not a path"):
        check_vm_name(name)


def test_a_runtime_folder_too_deep_for_unix_sockets_is_named_before_anything_starts(
    write_profile, tmp_path, monkeypatch
):
    """Was "cannot use: AF_UNIX path too long", with no path: the QMP socket vmrun binds in the run folder."""
    deep = tmp_path / ("r" * 90)
    deep.mkdir(mode=0o700)
    monkeypatch.setenv("VMRUN_RUNTIME_DIR", str(deep))
    path = write_profile('name = "a-rather-long-vm-name"\naccel = "tcg"\n')
    code, err, _ = run("up", str(path))
    assert code == 2, err
    sock = deep / "a-rather-long-vm-name" / "serial.sock"
    assert f"{path}: name: the VM's socket {sock} would be {len(str(sock))} bytes long" in err
    assert "a unix socket's path holds at most 107" in err and "VMRUN_RUNTIME_DIR" in err
    assert not (deep / "a-rather-long-vm-name").exists()


@pytest.mark.parametrize("recorded", ["tcp:127.0.0.1:{port}-:22", "tcp:0.0.0.0:{port}-:80"])
def test_a_port_another_vm_forwards_names_that_vm(write_profile, runtime_dir, recorded):
    from vmrun.rundir import RunDir
    from vmrun.runstate import Forward, RunState

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        web = RunDir.for_vm("web")
        web.create()
        web.write_json(
            "state.json",
            RunState(
                "web",
                "/p/web.toml",
                "tcg",
                [],
                0.0,
                phase="running",
                pid=None,
                forwards=[Forward("net0", recorded.format(port=port))],
            ).to_json(),
        )
        path = write_profile(f'name = "x"\naccel = "tcg"\n[[nics]]\nhostfwd = ["tcp::{port}-:22"]\n')
        code, err, _ = run("up", str(path))
    assert code == 2
    assert f"nics[0].hostfwd[0]: host port 127.0.0.1:{port}/tcp cannot be bound: VM web forwards it" in err
    assert "vmrun down web frees it" in err
    assert not (runtime_dir / "x").exists()
