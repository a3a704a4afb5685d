"""The argv builder against expected command lines, option by option."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DATA, REPO
from tests.qemuargs import qemu_meaning, seed_argv
from vmrun.argv import Control, build_argv
from vmrun.net.base import NetdevSpec
from vmrun.profile import load_profile
from vmrun.profile.model import Accel
from vmrun.qemuopts import split
from vmrun.show import describe, option_lines

JRGTEST = REPO / "profiles" / "jrgtest.toml"


def read_golden(path: Path) -> list[list[str]]:
    return [line.rstrip("\n").split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]


def test_jrgtest_matches_golden_file_line_by_line(runtime_dir):
    argv = [a.replace(str(runtime_dir), "RUNTIME") for a in describe(load_profile(str(JRGTEST)))["argv"]]
    assert option_lines(argv) == read_golden(DATA / "jrgtest.argv")


def without_agent(argv: list[str]) -> list[str]:
    """vmrun's guest agent port, last (agent = true by default), is not the script's."""
    return argv[:-6] if argv[-1].endswith("name=org.qemu.guest_agent.0") else argv


def test_jrgtest_gives_the_seeds_options():
    seed = seed_argv(DATA / "seed-start.sh")
    assert seed[0].endswith("qemu-system-x86_64") and "-enable-kvm" in seed
    ours = without_agent(describe(load_profile(str(JRGTEST)))["argv"])
    assert ours[0] == seed[0]
    assert qemu_meaning(ours, bare_forward="127.0.0.1") == qemu_meaning(seed, bare_forward="127.0.0.1")


def test_overrides_replace_the_scripts_parameters():
    argv = describe(load_profile(str(JRGTEST), overrides=[("memory", "16G"), ("smp", 8)]))["argv"]
    assert argv[argv.index("-m") + 1] == "16G"
    assert argv[argv.index("-smp") + 1] == "8"


def test_values_are_escaped_so_nothing_can_add_an_option(write_profile):
    path = write_profile(
        'name = "x"\naccel = "tcg"\n'
        '[[drives]]\nfile = "/tmp/a,format=raw,file=/etc/shadow"\n'
        '[[nics]]\ntype = "bridge"\nbridge = "br0"\nhelper = "/h,br=evil"\nvia = "helper"\nvhost = "off"\n'
    )
    argv = describe(load_profile(str(path)))["argv"]
    drive = argv[argv.index("-drive") + 1]
    assert drive == "file=/tmp/a,,format=raw,,file=/etc/shadow,if=virtio"
    assert split(drive)[0] == "file=/tmp/a,format=raw,file=/etc/shadow"
    netdev = argv[argv.index("-netdev") + 1]
    assert netdev == "tap,id=net0,br=br0,helper=/h,,br=evil,vhost=off"


def test_control_channels_are_added_last_but_before_extra_args(write_profile):
    path = write_profile('name = "x"\naccel = "tcg"\nextra_args = ["-S"]\n')
    profile = load_profile(str(path))
    argv = build_argv(
        profile, {}, qemu="qemu", accel=Accel.TCG, control=Control("/r/q,1.sock", "/r/s.sock", "/r/s.log")
    )
    assert argv[-1] == "-S"
    assert "socket,id=vmrun-qmp,path=/r/q,,1.sock,server=on,wait=off" in argv
    assert argv[argv.index("-serial") + 1] == "chardev:vmrun-serial"


def test_spice_password_goes_through_a_secret_file(write_profile):
    path = write_profile('name = "x"\naccel = "tcg"\n[spice]\nport = 5930\npassword = "s3cret"\n')
    profile = load_profile(str(path))
    control = Control("/r/q", "/r/s", "/r/l", spice_password_file="/r/pw")
    argv = build_argv(profile, {}, qemu="qemu", accel=Accel.TCG, control=control)
    assert "s3cret" not in " ".join(argv)
    assert argv[argv.index("-object") + 1] == "secret,id=spice-password,file=/r/pw"
    assert argv[argv.index("-spice") + 1] == "port=5930,addr=127.0.0.1,password-secret=spice-password"


def test_user_nic_options(write_profile):
    path = write_profile(
        'name = "x"\naccel = "tcg"\n[[nics]]\nid = "n0"\nmac = "52:54:00:00:00:01"\n'
        'net = "10.9.0.0/24"\nrestrict = true\nhostfwd = ["udp:0.0.0.0:5353-:53", "tcp::2222-10.9.0.15:22"]\n'
    )
    argv = describe(load_profile(str(path)))["argv"]
    assert argv[argv.index("-device") + 1] == "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,id=n0"
    assert argv[argv.index("-netdev") + 1] == (
        "user,id=n0,net=10.9.0.0/24,restrict=on,hostfwd=udp:0.0.0.0:5353-:53,hostfwd=tcp:127.0.0.1:2222-10.9.0.15:22"
    )


def test_netdev_spec_from_a_backend_is_used_verbatim(write_profile):
    path = write_profile('name = "x"\n[[nics]]\nid = "n0"\ntype = "bridge"\nbridge = "b"\n')
    profile = load_profile(str(path))
    spec = NetdevSpec("tap", (("fd", 3), ("vhost", False)))
    argv = build_argv(profile, {"n0": spec}, qemu="q", accel=Accel.TCG)
    assert argv[argv.index("-netdev") + 1] == "tap,id=n0,fd=3,vhost=off"


def test_spice_without_password_off_loopback_is_warned_about(write_profile):
    from vmrun.engines.qemu.launch import spice_warnings

    exposed = load_profile(
        str(write_profile('name = "x"\n[spice]\nport = 5900\naddr = "0.0.0.0"\nticketing = false\n', "a"))
    )
    local = load_profile(str(write_profile('name = "x"\n[spice]\nport = 5900\nticketing = false\n', "b")))
    locked = load_profile(
        str(write_profile('name = "x"\n[spice]\nport = 5900\naddr = "0.0.0.0"\npassword = "p"\n', "c"))
    )
    assert "without a password" in spice_warnings(exposed)[0]
    assert spice_warnings(local) == [] and spice_warnings(locked) == []


def test_agent_port_is_last_on_a_slot_no_pinned_device_holds(write_profile):
    path = write_profile('name = "x"\nmachine = "q35"\n[[nics]]\ntype = "user"\naddr = "0x1e"\n')
    argv = build_argv(
        load_profile(str(path)), {"net0": NetdevSpec("user")}, qemu="q", accel=Accel.TCG, agent_socket="/r/qga.sock"
    )
    assert argv[-6:] == [
        "-device",
        "virtio-serial-pci,id=vmrun-agent,addr=0x1d",
        "-chardev",
        "socket,id=vmrun-qga,path=/r/qga.sock,server=on,wait=off",
        "-device",
        "virtserialport,bus=vmrun-agent.0,chardev=vmrun-qga,name=org.qemu.guest_agent.0",
    ]
    off = write_profile('name = "x"\nagent = false\n')
    assert "vmrun-qga" not in " ".join(
        build_argv(load_profile(str(off)), {}, qemu="q", accel=Accel.TCG, agent_socket="/s")
    )
