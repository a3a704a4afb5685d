"""`vmrun import`: shell reading, option mapping, notes with line numbers, errors, no clobbering."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import DATA
from vmrun.cli import app
from vmrun.errors import VmrunError
from vmrun.importer import import_script
from vmrun.profile import load_profile

runner = CliRunner()
SEED = DATA / "seed-start.sh"
QEMU = "qemu-system-x86_64"


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stderr, result.stdout


@pytest.fixture
def script(tmp_path: Path):
    def write(text: str, name: str = "start.sh") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def imported(path: Path, **kw):
    """The profile table and the notes of importing ``path`` (nothing written)."""
    result = import_script(str(path), output="-", **kw)
    assert tomllib.loads(result.text) == result.profile  # the TOML is the table, comments aside
    return result.profile, result.notes


def notes_about(notes: list[str], words: str) -> list[str]:
    return [n for n in notes if words in n]


# --- the seed -------------------------------------------------------------------------------


def test_seed_imports_with_notes_on_stderr_and_writes_the_profile(tmp_path, monkeypatch, private_config):
    monkeypatch.chdir(tmp_path)
    code, err, out = run("import", str(SEED))
    assert code == 0, err
    # Written where `vmrun up jrgtest` finds it from any folder, not into ./profiles.
    written = private_config / "vmrun" / "profiles" / "jrgtest.toml"
    assert out == f"wrote {written} (see it with: vmrun show jrgtest)\n"
    raw = tomllib.loads(written.read_text())
    assert raw["nics"][0]["hostfwd"] == ["tcp:0.0.0.0:19888-:22"]
    assert raw["nics"][1] == {
        "id": "nic0",
        "model": "e1000",
        "mac": "00:16:3e:0c:12:27",
        "type": "bridge",
        "bridge": "jrgbr1",
        "via": "helper",
        "helper": "/home/rg/project/qemu-5.1.0/build/qemu-bridge-helper",
        "vhost": "on",
    }
    assert raw["spice"] == {"port": 8000, "addr": "172.17.81.244", "ticketing": False, "vdagent": True}
    assert "extra_args" not in raw
    lines = err.splitlines()
    assert all(line.startswith(f"vmrun: {SEED}:") for line in lines), err
    # The parameters, the all-addresses forward, and every commented-out alternative, each on its line.
    assert notes_about(lines, ':5: memory = "8G" comes from ${1:-8}')
    assert notes_about(lines, ":9: smp = 4 comes from ${2:-4}")
    assert notes_about(lines, ":11: hostfwd=tcp::19888-:22 listens on all addresses")
    commented = [line.split(": ")[1].rsplit(":", 1)[1] for line in notes_about(lines, "commented out")]
    assert commented == ["21", "23-24", "26-27", "29-30", "32-33", "36-37"]
    assert notes_about(lines, ":21: commented out, not imported: -cdrom ./ubuntu-20.04.1-desktop-amd64.iso")


def test_the_written_file_says_what_the_import_said(tmp_path):
    out = tmp_path / "p.toml"
    assert run("import", str(SEED), "-o", str(out))[0] == 0
    text = out.read_text()
    assert text.startswith(f"# Imported from {SEED} by `vmrun import`.\n")
    assert "#   " + f"{SEED}:36-37: commented out" in text
    assert load_profile(str(out)).name == "jrgtest"


def test_an_existing_profile_is_kept_unless_forced(tmp_path):
    out = tmp_path / "jrgtest.toml"
    out.write_text("# mine\n")
    code, err, _ = run("import", str(SEED), "-o", str(out))
    assert code == 2
    assert err.splitlines()[0] == f"vmrun: error: {out}: exists already"
    assert "--force" in err
    assert out.read_text() == "# mine\n"
    code, _, stdout = run("import", str(SEED), "-o", str(out), "--force")
    assert code == 0 and stdout.startswith(f"wrote {out}")
    assert load_profile(str(out)).spice.vdagent


def test_dash_o_dash_prints_the_toml_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err, out = run("import", str(SEED), "-o", "-", "--name", "other")
    assert code == 0
    assert tomllib.loads(out)["name"] == "other"
    assert not (tmp_path / "profiles").exists()
    assert "hostfwd" in err


# --- errors: one line, exit 2, the line number ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("#!/bin/sh\nls -l /tmp\necho done\n", "start.sh", "not a QEMU command line"),
        ("", "start.sh", "not a QEMU command line"),
        (
            "#!/bin/sh\nqemu-system-aarch64 -M virt \\\n  -m 1G\n",
            "start.sh:2",
            "qemu-system-aarch64 runs aarch64 guests",
        ),
        (f'{QEMU} -m 1G \\\n  -append "console=ttyS0\n', "start.sh:2", 'double quote (") is never closed'),
        (f"{QEMU} -m 1G \\\n  -name 'x\n", "start.sh:2", "single quote (') is never closed"),
        (f"#!/bin/sh\n\n{QEMU} \\\n  -m $1 \\\n  -smp 2\n", "start.sh:4", "give the script's arguments after --"),
        (f"{QEMU} \\\n  -smp $(free -g | awk '/Mem/{{print $2}}')\n", "start.sh:2", "needs a running shell"),
        (f"{QEMU} -m ${{MEM#x}}\n", "start.sh:1", "${MEM#x} needs a running shell"),
        (f"{QEMU} -m 1G -name 'my vm'\n", "start.sh:1", "'my vm' is not a usable name"),
        (f"{QEMU} -m 1G\ncat <<EOF\nnever ends\n", "start.sh:2", "never ended by a line 'EOF'"),
    ],
)
def test_bad_script_is_one_line_with_its_line_number(script, text, where, words):
    path = script(text)
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2
    first = err.splitlines()[0]
    assert first.startswith(f"vmrun: error: {path.parent}/{where}: "), err
    assert words in first
    assert len(err.splitlines()) <= 2


def _nested_defaults(n: int) -> str:
    return "${A:-" * n + "1G" + "}" * n


def _nested_runs(n: int) -> str:
    word = "x"
    for _ in range(n):
        word = f'"$(dirname {word})"'
    return word


def _alternating(n: int) -> str:
    word = "x"
    for _ in range(n):
        word = f'${{A:-"$(dirname {word})"}}'
    return word


@pytest.mark.parametrize("deep", [_nested_defaults(250), _nested_runs(250), _alternating(125)])
def test_deep_nesting_is_one_line_not_a_recursion_error(script, deep):
    """Issue 21, item 8: hundreds of nested ${A:-...} or "$(...)" (alternating too) stop at a depth limit."""
    path = script(f"#!/bin/sh\n{QEMU} -m 1G \\\n  -name {deep}\n")
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2, err
    assert err.splitlines()[0].startswith(f"vmrun: error: {path}:3: more than 32 nested ${{...}}"), err
    assert len(err.splitlines()) <= 2


def test_a_few_nested_levels_still_work(script):
    path = script(f"#!/bin/sh\n{QEMU} -m {_nested_defaults(30)} -name vm{_nested_runs(30)}\n")
    profile, _ = imported(path)
    assert profile["memory"] == "1G" and profile["name"] == "vm."  # dirname x is .


def test_a_binary_file_is_not_a_script(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"\x00\xff\xfe" * 10)
    code, err, _ = run("import", str(path))
    assert code == 2 and "not a text file" in err


# --- shell reading --------------------------------------------------------------------------


def test_quotes_continuations_and_escapes(script):
    path = script(
        "#!/bin/sh\n"
        f"exec {QEMU} -m 1G \\\n"
        "  -append 'console=ttyS0 root=\"/dev/vda 1\"' \\\n"
        '  -kernel "/boot/my kernel" -initrd /boot/init\\ rd \\\n'
        "  -name \"vm1\",process='p q'\n"
    )
    profile, _ = imported(path)
    assert profile["append"] == 'console=ttyS0 root="/dev/vda 1"'
    assert profile["kernel"] == "/boot/my kernel"
    assert profile["initrd"] == "/boot/init rd"
    assert (profile["name"], profile["process"]) == ("vm1", "p q")


def test_parameters_through_variables_and_the_environment(script):
    path = script(
        "#!/bin/bash\n"
        "MEM=${1:-2G}\n"
        'CPUS="${SMP:-3}"\n'
        f'{QEMU} -m $MEM -smp "$CPUS" -name t -kernel ${{KERNEL:-/boot/vmlinuz}}\n'
    )
    profile, notes = imported(path)
    assert (profile["memory"], profile["smp"], profile["kernel"]) == ("2G", 3, "/boot/vmlinuz")
    assert notes_about(notes, ':4: memory = "2G" comes from ${1:-2G} (the script\'s argument 1)')
    assert notes_about(notes, "vmrun up t --memory VALUE")
    assert notes_about(notes, ":4: smp = 3 comes from ${SMP:-3} ($SMP from the environment)")
    assert notes_about(notes, 'kernel = "/boot/vmlinuz" comes from ${KERNEL:-/boot/vmlinuz}')
    assert notes_about(notes, "vmrun up t --set kernel=VALUE")


def test_an_unquoted_variable_splits_into_options(script):
    path = script(f'OPTS="-smp 2  -no-reboot"\n{QEMU} -m 1G $OPTS -name t\n')
    profile, notes = imported(path)
    assert profile["smp"] == 2
    assert profile["extra_args"] == ["-no-reboot"]
    assert notes_about(notes, "start.sh:2: -no-reboot: vmrun has no profile key for it; kept in extra_args")


def test_here_documents_and_other_commands_are_not_the_command(script):
    path = script(
        "#!/bin/sh\nqemu-img create -f qcow2 d.qcow2 8G\n"
        "cat > /tmp/conf <<-EOF\n\t-device e1000,netdev=x\n\tEOF\n"
        f"{QEMU} -m 1G -name t\n"
    )
    profile, notes = imported(path)
    assert profile["memory"] == "1G" and "nics" not in profile


def test_arguments_passed_on_and_wrappers_are_noted(script):
    path = script(f'sudo -E taskset -c 0-1 {QEMU} -m 1G -name t "$@"\n')
    profile, notes = imported(path)
    assert notes_about(notes, ":1: the script runs QEMU under 'sudo -E taskset -c 0-1'; vmrun does not")
    assert notes_about(notes, ':1: "$@" hands the script\'s own arguments to QEMU; not imported')


def test_a_comment_inside_the_command_ends_it_as_the_shell_would(script):
    path = script(f"{QEMU} -m 1G \\\n#  -cdrom x.iso \\\n  -smp 4\n")
    profile, notes = imported(path)
    assert "smp" not in profile or profile["smp"] != 4
    assert notes_about(notes, ":2: commented out, not imported: -cdrom x.iso")
    assert notes_about(notes, ":3: -smp ...: this line continues no command")


def test_commented_alternatives_keep_their_notes(script):
    path = script(
        f"{QEMU} -m 1G\n\n# the bridged variant\n"
        "#  -device e1000,netdev=n1 \\\t# bridged\n#  -netdev bridge,id=n1,br=br9\n"
        "# just prose here\n#-vnc :1\n"
    )
    _, notes = imported(path, name="t")
    assert notes_about(
        notes,
        "start.sh:4-5: commented out, not imported: -device e1000,netdev=n1 "
        "-netdev bridge,id=n1,br=br9   (the bridged variant; bridged)",
    )
    assert notes_about(notes, "start.sh:7: commented out, not imported: -vnc :1")


# --- options --------------------------------------------------------------------------------


def test_qemu_defaults_are_written_out_where_vmrun_differs(script):
    profile, notes = imported(script(f"{QEMU} -m 512 -hda /d.img\n"), name="t")
    assert profile["accel"] == "tcg"  # QEMU's own default, not vmrun's auto
    assert profile["display"] == "default"
    assert profile["drives"] == [{"file": "/d.img", "interface": "ide"}]
    assert profile["memory"] == "512M"
    assert notes_about(notes, 'accel = "tcg"')


@pytest.mark.parametrize(
    ("options", "accel", "machine"),
    [
        ("-enable-kvm", "kvm", None),
        ("-accel kvm", "kvm", None),
        ("-accel tcg", "tcg", None),
        ("-accel kvm -accel tcg", "auto", None),
        ("-machine q35,accel=kvm:tcg", "auto", "q35"),
        ("-M type=pc,accel=kvm", "kvm", "pc"),
        ("--machine pc-q35-7.2,smm=off --enable-kvm", "kvm", "pc-q35-7.2,smm=off"),
    ],
)
def test_accelerator_and_machine(script, options, accel, machine):
    profile, _ = imported(script(f"{QEMU} {options} -m 1G\n"), name="t")
    assert profile["accel"] == accel
    assert profile.get("machine") == machine


def test_deprecated_boolean_forms(script):
    path = script(
        f"{QEMU} -name t,debug-threads -drive file=/a.img,if=virtio,readonly,snapshot=on "
        "-drive file=/b.img,format=raw,noreadonly -spice port=5900,addr=127.0.0.1,disable-ticketing\n"
    )
    profile, _ = imported(path)
    assert profile["debug_threads"] is True
    assert profile["drives"] == [
        {"file": "/a.img", "interface": "virtio", "readonly": True, "snapshot": True},
        {"file": "/b.img", "interface": "ide", "format": "raw"},
    ]
    assert profile["spice"] == {"port": 5900, "addr": "127.0.0.1", "ticketing": False}


def test_cdrom_and_relative_paths_from_the_scripts_folder(script, tmp_path):
    path = script(f"{QEMU} -name t -cdrom ./inst.iso -drive file=d.qcow2,if=virtio,cache=none,aio=native\n")
    profile, notes = imported(path)
    assert profile["cdrom"] == str(tmp_path / "inst.iso")
    assert profile["drives"] == [
        {"file": str(tmp_path / "d.qcow2"), "interface": "virtio", "aio": "native", "cache": "none"}
    ]
    assert notes_about(notes, f"the relative path ./inst.iso is taken from the script's folder: {tmp_path}/inst.iso")


def test_spice_with_a_secret_and_without_an_address(script):
    path = script(
        f"{QEMU} -name t -object secret,id=sec0,data=pa,,ss -spice port=5901,password-secret=sec0 "
        "-device virtio-serial-pci -chardev spicevmc,id=ch1,name=vdagent "
        "-device virtserialport,chardev=ch1,name=com.redhat.spice.0\n"
    )
    profile, notes = imported(path)
    assert profile["spice"] == {"port": 5901, "addr": "0.0.0.0", "password": "pa,ss", "vdagent": True}
    assert "extra_args" not in profile
    assert notes_about(notes, ':1: -spice has no addr=, so QEMU listens on all addresses: imported as addr = "0.0.0.0"')


def test_what_vmrun_does_itself_is_dropped_with_a_note(script):
    path = script(
        f"{QEMU} -name t -nographic -serial mon:stdio -monitor none -qmp unix:/q,server -daemonize -pidfile /p\n"
    )
    profile, notes = imported(path)
    assert profile["display"] == "none"
    assert "extra_args" not in profile
    for option in (
        "-nographic",
        "-serial mon:stdio",
        "-monitor none",
        "-qmp unix:/q,server",
        "-daemonize",
        "-pidfile /p",
    ):
        assert notes_about(notes, f":1: {option}: dropped: "), option


def test_unknown_options_go_to_extra_args_verbatim_each_with_a_note(script):
    path = script(
        f"{QEMU} -name t \\\n  -usb -device usb-tablet \\\n  -rtc base=localtime,clock=host \\\n"
        "  --boot once=d -m 2G,slots=2,maxmem=8G\n"
    )
    profile, notes = imported(path)
    assert profile["memory"] == "2G"
    assert profile["extra_args"] == [
        "-usb",
        "-device",
        "usb-tablet",
        "-rtc",
        "base=localtime,clock=host",
        "--boot",
        "once=d",
        "-m",
        "2G,slots=2,maxmem=8G",
    ]
    assert notes_about(notes, "start.sh:2: -usb: vmrun has no profile key for it; kept in extra_args")
    assert notes_about(notes, "start.sh:2: -device usb-tablet: vmrun has no profile key")
    assert notes_about(notes, "start.sh:4: --boot once=d: vmrun has no key for -boot's once")
    assert notes_about(notes, "start.sh:4: -m 2G,slots=2,maxmem=8G: vmrun has no key for slots, maxmem")


# --- NICs -----------------------------------------------------------------------------------


def test_user_nic_forwards_keep_their_meaning(script):
    path = script(
        f"{QEMU} -name t -device virtio-net-pci,netdev=u0,mac=52:54:00:00:00:01,id=u0 "
        "-netdev user,id=u0,net=10.9.0.0/24,restrict=on,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.9.0.15:53\n"
    )
    profile, notes = imported(path)
    assert profile["nics"] == [
        {
            "id": "u0",
            "model": "virtio-net-pci",
            "mac": "52:54:00:00:00:01",
            "type": "user",
            "net": "10.9.0.0/24",
            "restrict": True,
            "hostfwd": ["tcp:0.0.0.0:2222-:22", "udp:127.0.0.1:5353-10.9.0.15:53"],
        }
    ]
    assert len(notes_about(notes, "listens on all addresses")) == 1


def test_nic_option_and_the_macs_qemu_gave(script):
    path = script(f"{QEMU} -name t -nic user,model=virtio,hostfwd=tcp:127.0.0.1:8080-:80 -nic bridge,br=br7\n")
    profile, notes = imported(path)
    assert profile["nics"] == [
        {
            "id": "net0",
            "model": "virtio-net-pci",
            "type": "user",
            "hostfwd": ["tcp:127.0.0.1:8080-:80"],
            "mac": "52:54:00:12:34:56",
        },
        {
            "id": "net1",
            "model": "e1000",
            "type": "bridge",
            "bridge": "br7",
            "via": "helper",
            "mac": "52:54:00:12:34:57",
        },
    ]
    assert len(notes_about(notes, "has no mac= in the script: imported with the MAC QEMU gave it")) == 2


def test_bridge_netdev_and_tap_with_helper(script):
    path = script(
        f"{QEMU} -name t -netdev bridge,id=b0,br=br1 -device e1000,netdev=b0,mac=52:54:00:00:00:02 "
        "-netdev tap,id=t1,br=br2,helper=/usr/lib/qemu/qemu-bridge-helper,vhost=off,queues=4 "
        "-device virtio-net-pci,netdev=t1,mac=52:54:00:00:00:03,mq=on,vectors=10\n"
    )
    profile, _ = imported(path)
    assert profile["nics"][0] == {
        "id": "b0",
        "model": "e1000",
        "mac": "52:54:00:00:00:02",
        "type": "bridge",
        "bridge": "br1",
        "via": "helper",
    }
    assert profile["nics"][1] == {
        "id": "t1",
        "model": "virtio-net-pci",
        "mac": "52:54:00:00:00:03",
        "type": "bridge",
        "bridge": "br2",
        "via": "helper",
        "helper": "/usr/lib/qemu/qemu-bridge-helper",
        "vhost": "off",
        "queues": 4,
    }


def test_tap_by_name_takes_the_bridge_the_script_puts_it_on(script):
    path = script(
        "ip tuntap add tap5 mode tap\nbrctl addif br5 tap5\nip link set tap5 up\n"
        f"{QEMU} -name t -netdev tap,id=n0,ifname=tap5,script=no,downscript=no "
        "-device e1000,netdev=n0,mac=52:54:00:00:00:05\n"
    )
    profile, notes = imported(path)
    assert profile["nics"][0]["type"] == "bridge" and profile["nics"][0]["bridge"] == "br5"
    assert notes_about(notes, ":4: the tap tap5 joins br5 at line 2 (brctl addif br5 tap5)")


def test_macvtap_behind_an_fd(script):
    path = script(
        "ip link add link eth1 name mvt0 type macvtap\n"
        f"{QEMU} -name t -netdev tap,id=m0,fd=3,vhost=on -device virtio-net-pci,netdev=m0,mac=52:54:00:00:00:06 \\\n"
        "  3<>/dev/tap$(cat /sys/class/net/mvt0/ifindex)\n"
    )
    profile, notes = imported(path)
    assert profile["nics"][0] == {
        "id": "m0",
        "model": "virtio-net-pci",
        "mac": "52:54:00:00:00:06",
        "type": "macvtap",
        "parent": "eth1",
        "mode": "vepa",
        "vhost": "on",
    }
    assert notes_about(notes, ":2: the tap fd=3 is opened on a macvtap the script makes at line 1")


@pytest.mark.parametrize(
    ("netdev", "reason"),
    [
        ("tap,id=n0,fd=3", "fd=3 is a tap the script's caller opened"),
        ("tap,id=n0,script=no", "a tap QEMU makes with script=no joins nothing"),
        ("user,id=n0,hostfwd=tcp:[::1]:22-:22", "not a forward vmrun reads"),
    ],
)
def test_nics_vmrun_cannot_make_stay_whole_in_extra_args(script, netdev, reason):
    device = "e1000,netdev=n0,mac=52:54:00:00:00:07"
    profile, notes = imported(script(f"{QEMU} -name t -device {device} -netdev {netdev}\n"))
    assert "nics" not in profile
    assert profile["extra_args"] == ["-device", device, "-netdev", netdev]
    [note] = notes_about(notes, "NIC not imported")
    assert f"/start.sh:1: -device {device}: NIC not imported: " in note and reason in note
    assert note.endswith("; kept in extra_args")


@pytest.mark.parametrize(
    ("netdev", "nic"),
    [
        ("tap,id=n0,ifname=tap9,script=no,downscript=no", {"type": "tap", "ifname": "tap9"}),
        ("tap,id=n0", {"type": "tap", "script": "/etc/qemu-ifup", "downscript": "/etc/qemu-ifdown"}),
        (
            "tap,id=n0,ifname=t1,script=/etc/up.sh,downscript=no",
            {"type": "tap", "ifname": "t1", "script": "/etc/up.sh"},
        ),
        ("socket,id=n0,listen=:1234", {"type": "netdev", "backend": "socket", "options": "listen=:1234"}),
        (
            "socket,id=n0,mcast=230.0.0.1:1234,localaddr=127.0.0.1",
            {"type": "netdev", "backend": "socket", "options": "mcast=230.0.0.1:1234,localaddr=127.0.0.1"},
        ),
        (
            "stream,id=n0,addr.type=unix,addr.path=/run/x,,y.sock",
            {"type": "netdev", "backend": "stream", "options": "addr.type=unix,addr.path=/run/x,,y.sock"},
        ),
    ],
)
def test_taps_and_other_backends_are_nics_too(script, netdev, nic):
    device = "e1000,netdev=n0,mac=52:54:00:00:00:07"
    profile, _ = imported(script(f"{QEMU} -name t -device {device} -netdev {netdev}\n"))
    assert profile["nics"] == [{"id": "n0", "model": "e1000", "mac": "52:54:00:00:00:07", **nic}]
    assert "extra_args" not in profile


@pytest.mark.parametrize(
    "net",
    [
        "-net nic,model=virtio,macaddr=52:54:00:00:00:11 -net user,hostfwd=tcp::2222-:22",
        "-net user,vlan=1,hostfwd=tcp::2222-:22 -net nic,vlan=1,model=virtio,macaddr=52:54:00:00:00:11",
        "-netdev user,id=u,hostfwd=tcp::2222-:22 -net nic,netdev=u,model=virtio,macaddr=52:54:00:00:00:11",
    ],
)
def test_legacy_net_pairs_on_a_hub_are_one_nic(script, net):
    profile, _ = imported(script(f"{QEMU} -name t {net}\n"))
    assert profile["nics"] == [
        {
            "id": "net0",
            "model": "virtio-net-pci",
            "mac": "52:54:00:00:00:11",
            "type": "user",
            "hostfwd": ["tcp:0.0.0.0:2222-:22"],
        }
    ]
    assert "extra_args" not in profile


def test_a_hub_with_two_nics_is_refused_in_one_line(script):
    path = script(f"{QEMU} -name t \\\n -net nic,vlan=0 -net nic,vlan=0 \\\n -net user,vlan=0\n")
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2
    assert err.splitlines()[0].startswith(
        f"vmrun: error: {path}:2: hub 0 (-net ...,vlan=0, lines 2, 2, 3) joins 2 NICs"
    )


def test_qemu_gives_the_macs_in_the_order_it_makes_the_nics(script):
    # -device NICs come after -nic and -net nic ones, whatever the order on the command line.
    path = script(
        f"{QEMU} -name t -netdev user,id=a -device e1000,netdev=a -nic user,mac=52:54:00:12:34:56 -net nic -net user\n"
    )
    profile, _ = imported(path)
    assert [(n["id"], n["mac"]) for n in profile["nics"]] == [
        ("net0", "52:54:00:12:34:56"),
        ("net1", "52:54:00:12:34:57"),
        ("a", "52:54:00:12:34:58"),
    ]


def test_pci_slots_vmrun_would_move_are_pinned(script):
    path = script(
        f"{QEMU} -name t -device virtio-rng-pci \\\n -netdev user,id=n -device e1000,netdev=n "
        "-drive file=/d,if=virtio -drive file=/e,if=virtio,addr=0x9\n"
    )
    profile, notes = imported(path)
    # QEMU: VGA 2, rng 3, NIC 4, then the disks; vmrun would give the NIC 3 (NICs come first).
    assert profile["nics"][0]["addr"] == "0x4"
    # The first disk lands on 5 all the same once the NIC is pinned: not pinned (the second keeps its own addr).
    assert [d.get("addr") for d in profile["drives"]] == [None, "0x9"]
    assert notes_about(notes, "pinned to the script's PCI slots")


@pytest.mark.parametrize(
    "options",
    [
        "-drive file=/d,if=virtio -nic user,mac=52:54:00:00:00:08",  # -nic is made at machine init anyway
        "-netdev user,id=n -device e1000,netdev=n -device virtio-rng-pci -drive file=/d,if=virtio",
        "-machine q35 -device qemu-xhci -device usb-tablet -nic user -vga none",
    ],
)
def test_pci_slots_that_stay_are_not_pinned(script, options):
    profile, notes = imported(script(f"{QEMU} -name t {options}\n"))
    assert "addr" not in str(profile)
    assert not notes_about(notes, "PCI slot")


def test_q35_gets_no_spare_ports_it_did_not_have(script):
    profile, notes = imported(script(f"{QEMU} -name t -machine q35 -nic user,mac=52:54:00:00:00:09\n"))
    assert profile["hotplug_slots"] == 0
    assert profile["nics"][0]["model"] == "e1000e"  # QEMU's default NIC on q35
    assert notes_about(notes, "hotplug_slots = 0")


def test_windows_line_ends_and_stdin(script):
    path = script(f"{QEMU} -m 1G \\\r\n  -name win -smp 2\r\n")
    profile, notes = imported(path)
    assert (profile["name"], profile["smp"]) == ("win", 2)
    assert notes_about(notes, "Windows line ends")
    result = runner.invoke(app, ["import", "-", "-o", "-"], input=f"{QEMU} -enable-kvm -m 3G -name piped\n")
    assert result.exit_code == 0
    assert tomllib.loads(result.stdout)["accel"] == "kvm"


def test_variables_are_taken_as_they_are_where_qemu_runs(script):
    path = script(f"MEM=1G\n{QEMU} -m $MEM -name t -kernel $HOME/k\nMEM=2G\necho $HOME\n")
    profile, notes = imported(path)
    assert (profile["memory"], profile["kernel"]) == ("1G", "$HOME/k")
    assert [n.split(": ", 1)[0].rsplit(":", 1)[1] for n in notes_about(notes, "kept as written")] == ["2"]


# --- anything at all: a profile, or one line that says why not ------------------------------

_OPTIONS = [
    "-m",
    "-smp",
    "-machine",
    "-accel",
    "-enable-kvm",
    "-name",
    "-kernel",
    "-append",
    "-drive",
    "-hda",
    "-cdrom",
    "-device",
    "-netdev",
    "-nic",
    "-net",
    "-chardev",
    "-spice",
    "-object",
    "-serial",
    "-usb",
]
_VALUES = [
    "user,id=n0,hostfwd=tcp::22-:22",
    "e1000,netdev=n0",
    "tap,id=n0,br=br0,queues=2",
    "tap,id=n0,fd=3",
    "virtio-net-pci,netdev=n0,mq=on",
    "spicevmc,id=v,name=vdagent",
    "port=5900,password-secret=s",
    "file=/a,if=virtio,readonly",
    "file=,media=cdrom",
    "q35,accel=kvm:tcg",
    "4,sockets=2",
    "mac=zz",
    ",,",
    "${1:-8}G",
    "$1",
    '"a b"',
    "'c",
    "\\",
    "$(x)",
    "`y`",
    "#",
    "\n",
    " \\\n",
    "3<>/dev/tap9",
    "<<E\nx\nE\n",
]
_TOKENS = st.one_of(
    st.sampled_from(_OPTIONS),
    st.sampled_from(_VALUES),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=4),
)
_PROGRAMS = ["qemu-system-x86_64", "exec qemu-system-x86_64", "qemu-system-arm", "ls", "Q=qemu-system-x86_64\n$Q"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.sampled_from(_PROGRAMS), tokens=st.lists(_TOKENS, max_size=12), sep=st.sampled_from([" ", " \\\n  "]))
def test_any_script_gives_a_profile_or_one_line_why_not(program, tokens, sep):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "start.sh"
        path.write_text(program + " " + sep.join(tokens) + "\n")
        try:
            result = import_script(str(path), output=str(Path(d) / "out.toml"))
        except VmrunError as e:
            assert "\n" not in str(e)
            return
        assert load_profile(str(result.path)).name == result.name
        assert all("\n" not in note for note in result.notes)


@pytest.mark.parametrize(
    "option", ["-drive file=,if=virtio", "-drive file=,media=cdrom", "-cdrom ''", "-hda ''", "-kernel ''"]
)
def test_an_empty_file_name_is_not_the_scripts_folder(script, tmp_path, option):
    """`-drive file=` is a drive with no medium to QEMU; it became file = "<the script's folder>". Kept as it is."""
    path = script(f"{QEMU} -name t {option}\n")
    profile, notes = imported(path)
    assert "drives" not in profile and "cdrom" not in profile and "kernel" not in profile
    name, _, value = option.partition(" ")
    assert profile["extra_args"] == [name, value.strip("'")]
    assert notes_about(notes, "an empty file name") and notes_about(notes, "kept in extra_args")
    assert not notes_about(notes, "the relative path")


def test_a_script_without_an_agent_port_gets_agent_false_one_with_it_gets_vmruns(script):
    profile, _ = imported(script(f"{QEMU} -m 512 -nographic\n"))
    assert profile["agent"] is False  # the import adds no device the script did not have
    text = (
        f"{QEMU} -m 512 -device virtio-serial-pci,id=vs0 "
        "-chardev socket,id=qga0,path=/tmp/qga.sock,server=on,wait=off "
        "-device virtserialport,bus=vs0.0,chardev=qga0,name=org.qemu.guest_agent.0\n"
    )
    profile, notes = imported(script(text, "agent.sh"))
    assert "agent" not in profile and "extra_args" not in profile  # agent = true: vmrun's own port, socket and all
    assert notes_about(notes, "guest agent port is vmrun's own")
