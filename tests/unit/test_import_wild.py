"""`vmrun import` on start.sh files as people have them (issue 20): each failure class, one test or a few."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import DATA
from tests.unit.test_import import QEMU, imported, notes_about, run, script  # noqa: F401 (the fixture)

# --- one unknown sub-option no longer sinks a NIC --------------------------------------------------


def test_an_unknown_netdev_or_device_option_is_carried_on_the_nic(script):
    path = script(
        f"{QEMU} -m 1G -netdev user,id=n0,hostname=vm,hostfwd=tcp::2222-:22 "
        "-device virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:01,ioeventfd=on,tx=bh\n"
    )
    profile, notes = imported(path)
    nic = profile["nics"][0]
    assert (nic["mac"], nic["hostfwd"]) == ("52:54:00:aa:bb:01", ["tcp:0.0.0.0:2222-:22"])
    assert (nic["netdev_options"], nic["device_options"]) == ("hostname=vm", "ioeventfd=on,tx=bh")
    assert "extra_args" not in profile
    assert notes_about(notes, "carried on NIC n0 as device_options = 'ioeventfd=on,tx=bh'")
    assert notes_about(notes, "netdev_options = 'hostname=vm'")


def test_nic_and_legacy_net_options_are_carried_too(script):
    profile, _ = imported(script(f"{QEMU} -nic user,model=e1000,mac=52:54:00:aa:bb:02,dns=10.0.2.4,tftp=/srv\n"))
    assert profile["nics"][0]["netdev_options"] == "dns=10.0.2.4,tftp=/srv"
    path = script(f"{QEMU} -net nic,model=e1000,macaddr=52:54:00:aa:bb:03,vectors=4 -net user,domainname=lan\n", "l.sh")
    nic = imported(path)[0]["nics"][0]
    assert (nic["device_options"], nic["netdev_options"]) == ("vectors=4", "domainname=lan")


def test_trailing_commas_are_passed_over_as_qemu_does(script):
    path = script(f"{QEMU} -netdev user,id=n0,hostfwd=tcp::2223-:22, -device e1000,netdev=n0,mac=52:54:00:aa:bb:04,\n")
    profile, _ = imported(path)
    nic = profile["nics"][0]
    assert nic["hostfwd"] == ["tcp:0.0.0.0:2223-:22"] and "device_options" not in nic and "extra_args" not in profile


def test_old_net_socket_backends_stay_nics(script):
    path = script(f"{QEMU} -net nic,model=e1000,macaddr=52:54:00:aa:bb:05 -net socket,listen=127.0.0.1:1234\n")
    nic = imported(path)[0]["nics"][0]
    assert (nic["type"], nic["backend"], nic["options"]) == ("netdev", "socket", "listen=127.0.0.1:1234")


def test_a_root_port_the_nic_plugs_into_comes_ahead_of_it(script, tmp_path):
    path = script(
        f"{QEMU} -machine q35 -m 1G -device pcie-root-port,id=rp1,chassis=1,slot=1 "
        "-netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:06,bus=rp1 "
        "-device virtio-rng-pci,bus=rp1\n"
    )
    profile, notes = imported(path)
    assert profile["bus_devices"] == ["pcie-root-port,id=rp1,chassis=1,slot=1"]
    assert profile["nics"][0]["device_options"] == "bus=rp1"
    assert profile["extra_args"] == ["-device", "virtio-rng-pci,bus=rp1"]
    assert notes_about(notes, "the NICs plug into rp1, which the script makes: kept in bus_devices")
    out = tmp_path / "vm.toml"
    assert run("import", str(path), "-o", str(out))[0] == 0
    code, err, shown = run("show", str(out), "--json")
    assert code == 0, err
    argv = json.loads(shown)["argv"]
    port = argv.index("pcie-root-port,id=rp1,chassis=1,slot=1")
    nic = next(i for i, a in enumerate(argv) if a.startswith("virtio-net-pci,"))
    assert port < nic and argv[nic].endswith(",bus=rp1")
    assert json.loads(shown)["nics"][0]["device_options"] == "bus=rp1"


def test_options_with_commas_stay_escaped_in_the_argv(script, tmp_path):
    path = script(f"{QEMU} -netdev user,id=n0,dnssearch=a,,b -device e1000,netdev=n0,mac=52:54:00:aa:bb:07\n")
    profile, _ = imported(path)
    assert profile["nics"][0]["netdev_options"] == "dnssearch=a,,b"
    out = tmp_path / "vm.toml"
    assert run("import", str(path), "-o", str(out))[0] == 0
    argv = json.loads(run("show", str(out), "--json")[2])["argv"]
    assert "user,id=n0,dnssearch=a,,b" in argv


@pytest.mark.parametrize(
    ("nic", "field"),
    [
        ('device_options = "bus=rp1"', "nics[0].device_options"),
        ('netdev_options = "hostname=vm"', "nics[0].netdev_options"),
    ],
)
def test_under_libvirt_a_nic_with_qemu_options_is_refused_in_one_line(tmp_path, nic, field):
    path = tmp_path / "vm.toml"
    path.write_text(f'name = "vm"\n[[nics]]\ntype = "user"\n{nic}\n')
    code, err, _ = run("show", str(path), "--libvirt")
    assert code == 2
    assert err.splitlines()[0].startswith(f"vmrun: error: {path}: {field}: ")
    assert "libvirt's <interface> has no place for QEMU's own options" in err


def test_a_nic_cannot_override_what_vmrun_gives_its_device(tmp_path):
    path = tmp_path / "vm.toml"
    path.write_text('name = "vm"\n[[nics]]\ntype = "user"\ndevice_options = "mac=52:54:00:00:00:01"\n')
    code, err, _ = run("show", str(path))
    assert code == 2 and "mac= is given by vmrun (mac)" in err.splitlines()[0]


# --- ways of calling QEMU --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        'QEMU=$(which qemu-system-x86_64)\n"$QEMU"',
        "QEMU=$(command -v qemu-system-x86_64 2>/dev/null)\n$QEMU",
        '"$(command -v qemu-system-x86_64)"',
        "`which qemu-system-x86_64`",
    ],
)
def test_qemu_found_with_which_or_command_v_is_qemu_on_path(script, call):
    profile, notes = imported(script(f"#!/bin/bash\n{call} -m 1G -nic user,mac=52:54:00:aa:bb:10\n"))
    assert "qemu" not in profile and profile["nics"][0]["mac"] == "52:54:00:aa:bb:10"
    assert notes_about(notes, "is taken as qemu-system-x86_64, looked up on PATH when vmrun starts it")


@pytest.mark.parametrize(
    ("call", "qemu", "wrapper"),
    [
        ("sudo -E qemu-system-x86_64", None, "sudo -E"),
        ("exec qemu-system-x86_64", None, None),
        ("kvm", "kvm", None),
        ("QEMU=/opt/qemu/bin/qemu-system-x86_64\nexec sudo -E $QEMU", "/opt/qemu/bin/qemu-system-x86_64", "sudo -E"),
    ],
)
def test_other_ways_of_calling_qemu_still_work(script, call, qemu, wrapper):
    profile, notes = imported(script(f"#!/bin/bash\n{call} -m 1G -nic user,mac=52:54:00:aa:bb:11\n"))
    assert profile.get("qemu") == qemu and profile["nics"][0]["mac"] == "52:54:00:aa:bb:11"
    assert bool(notes_about(notes, f"the script runs QEMU under {wrapper!r}")) == (wrapper is not None)


# --- a backslash followed by blanks ----------------------------------------------------------------


@pytest.mark.parametrize("tail", ["\\  ", "\\ \t", "\\ # the memory", "\\        13s 16:33:13"])
def test_a_backslash_followed_by_blanks_ends_the_command_and_is_refused_naming_its_line(script, tail):
    path = script(f"#!/bin/bash\n{QEMU} -m 1G \\\n    -smp 2 {tail}\n    -drive file=disk.qcow2,if=virtio\n")
    code, err, out = run("import", str(path), "-o", "-")
    assert code == 2 and out == ""
    first, hint = err.splitlines()
    assert first.startswith(
        f"vmrun: error: {path}:3: the backslash on this line is followed by a blank, not by the line end"
    )
    assert hint == "  hint: delete the blanks (and anything pasted) after the backslash on line 3, then import again"


def test_an_escaped_blank_inside_a_word_is_still_a_blank(script):
    profile, _ = imported(script(f"{QEMU} -m 1G -drive file=My\\ Disk.qcow2,if=virtio \\\n  -smp 2\n"))
    assert profile["drives"][0]["file"].endswith("/My Disk.qcow2") and profile["smp"] == 2


# --- a tap fd read from a file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("netdev", "path"),
    [
        ("tap,id=n0,fd=$(cat /run/vm/tapfd)", "/run/vm/tapfd"),
        ("tap,id=n0,fd=$(cat /sys/class/net/macvtap0/ifindex)", "/sys/class/net/macvtap0/ifindex"),
    ],
)
def test_a_tap_fd_read_from_a_file_is_refused_naming_what_cannot_be_known(script, netdev, path):
    script_path = script(f"#!/bin/bash\n{QEMU} -m 1G \\\n  -netdev {netdev} -device virtio-net-pci,netdev=n0\n")
    code, err, out = run("import", str(script_path), "-o", "-")
    assert code == 2 and out == ""
    first, hint = err.splitlines()
    assert first == (
        f"vmrun: error: {script_path}:3: fd=$(cat {path}): the tap's file descriptor is a number read from {path} "
        "when the script runs, and which tap is open on it is known only to whoever runs the script; vmrun "
        "cannot know that tap"
    )
    assert hint.startswith("  hint: write the NIC by hand (type = ")


# --- source FILE / . FILE --------------------------------------------------------------------------


def test_a_sourced_file_beside_the_script_is_read_not_run(script, tmp_path):
    (tmp_path / "vm.conf").write_text(
        'MEM=4G\nexport DISK=disk.qcow2\n[ -n "$X" ] && rm -rf /\nMAC=52:54:00:aa:bb:20\n'
    )
    path = script(f'#!/bin/bash\n. "$(dirname "$0")/vm.conf"\n{QEMU} -m $MEM -hda $DISK -nic user,mac=$MAC\n')
    profile, notes = imported(path)
    assert (profile["memory"], profile["nics"][0]["mac"]) == ("4G", "52:54:00:aa:bb:20")
    assert profile["drives"][0]["file"] == str(tmp_path / "disk.qcow2")
    assert notes_about(notes, f"read at import from {tmp_path / 'vm.conf'}: its assignments (MEM, DISK, MAC)")


@pytest.mark.parametrize("where", ["/etc/vmrun-not-there/vm.conf", "../vm.conf", "link.conf"])
def test_a_sourced_file_elsewhere_is_refused_naming_it_and_the_variables_left_unset(script, tmp_path, where):
    (tmp_path / "real.conf").write_text("MEM=4G\n")
    (tmp_path / "link.conf").symlink_to(tmp_path / "real.conf")
    path = script(
        f"#!/bin/bash\nsource {where}\n{QEMU} -m $MEM -hda $DISK -nic user,mac=52:54:00:aa:bb:21 -cpu $HOME\n"
    )
    code, err, out = run("import", str(path), "-o", "-")
    assert code == 2 and out == ""
    first, hint = err.splitlines()
    assert first.startswith(f"vmrun: error: {path}:2: source {where} is not read: ")
    assert first.endswith("; the QEMU command then uses $MEM, $DISK, which nothing else in the script sets")
    assert hint == f"  hint: give them: vmrun import {path} --set memory=VALUE --var DISK=VALUE"


def test_set_and_var_give_what_the_unread_file_would_have(script, tmp_path):
    path = script(f"#!/bin/bash\nsource /etc/vmrun-not-there/vm.conf\n{QEMU} -m $MEM -hda $DISK -nic user\n")
    profile, notes = imported(path, sets=["memory=3G"], variables=["DISK=/srv/vm.qcow2"])
    assert profile["memory"] == "3G" and profile["drives"][0]["file"] == "/srv/vm.qcow2"
    assert notes_about(notes, "source /etc/vmrun-not-there/vm.conf: not read: it lies outside the script's folder")
    code, err, _ = run("import", str(path), "-o", "-", "--var", "2DISK=x")
    assert code == 2 and err.startswith("vmrun: error: --var 2DISK=x: not NAME=VALUE")


# --- options QEMU has removed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "keys"),
    [
        ("-soundhw hda", {"audio": "hda"}),
        ("-soundhw ac97,sb16", {"audio": "ac97"}),
        ("-soundhw all", {"audio": "hda"}),
        ("-localtime", {"rtc": "localtime"}),
        ("-usbdevice tablet", {"tablet": True}),
        ("-usb -usbdevice tablet", {"tablet": True}),
        ("-no-kvm", {"accel": "tcg"}),
        ("-enable-kvm -no-kvm", {"accel": "auto"}),
    ],
)
def test_removed_and_legacy_options_become_keys(script, options, keys):
    profile, _ = imported(script(f"{QEMU} -m 1G {options} -nic user,mac=52:54:00:aa:bb:30\n"))
    assert {k: profile.get(k) for k in keys} == keys
    assert "extra_args" not in profile


@pytest.mark.parametrize("flag", ["-no-kvm-irqchip", "-no-kvm-pit-reinjection", "-enable-nesting", "-tdf"])
def test_removed_tuning_flags_are_dropped_saying_why(script, flag):
    profile, notes = imported(script(f"{QEMU} -enable-kvm {flag} -m 1G -nic user,mac=52:54:00:aa:bb:31\n"))
    assert "extra_args" not in profile and profile["memory"] == "1G"
    assert notes_about(notes, f"{flag}: dropped: ")


def test_a_soundhw_card_without_a_key_is_dropped_not_handed_on(script):
    profile, notes = imported(script(f"{QEMU} -m 1G -soundhw sb16 -nic user\n"))
    assert "audio" not in profile and "extra_args" not in profile
    assert notes_about(notes, "vmrun's audio key has hda and ac97, not sb16")


def test_a_vlan_hub_of_one_nic_and_one_backend_is_an_ordinary_nic(script):
    path = script(
        f"{QEMU} -m 1G -net nic,vlan=3,model=e1000,macaddr=52:54:00:aa:bb:32 -net user,vlan=3,hostfwd=tcp::2232-:22\n"
    )
    profile, notes = imported(path)
    nic = profile["nics"][0]
    assert (nic["mac"], nic["hostfwd"]) == ("52:54:00:aa:bb:32", ["tcp:0.0.0.0:2232-:22"])
    assert notes_about(notes, "through hub 3 (vlan=, which QEMU 7.2 no longer takes); vmrun joins them directly")


def test_a_vlan_hub_without_its_backend_is_refused_in_one_line(script):
    path = script(f"{QEMU} -m 1G -net nic,vlan=1,model=e1000 -net user,vlan=2\n")
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2
    assert err.splitlines()[0] == (
        f"vmrun: error: {path}:1: hub 1 (-net ...,vlan=1, line 1) has no backend; QEMU 7.2 no longer takes vlan=, "
        "and vmrun joins each NIC to a backend of its own"
    )


# --- the refused scripts of the corpus -------------------------------------------------------------

REFUSED = sorted(p for p in (DATA / "import-refused").glob("*.sh") if "# refusal:" in p.read_text())


@pytest.mark.parametrize("path", REFUSED, ids=[p.stem for p in REFUSED])
def test_each_refused_script_is_refused_in_one_line_as_its_header_says(path):
    line, _, words = re.search(r"^# refusal: (.*)$", path.read_text(), re.M).group(1).partition(": ")
    code, err, out = run("import", str(path), "-o", "-")
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith(f"vmrun: error: {path}:{line}: {words}"), err
    assert all(x.startswith("  hint: ") for x in err.splitlines()[1:]), err


# --- passthrough as scripts write it ---------------------------------------------------------------


def test_a_gpu_behind_a_root_port_becomes_pci_entries_with_its_options(script, tmp_path):
    path = script(
        f"{QEMU} -machine q35 -m 4G -device pcie-root-port,id=root0,bus=pcie.0,chassis=1 \\\n"
        "  -device vfio-pci,host=01:00.0,bus=root0,addr=0.0,multifunction=on,x-vga=on \\\n"
        "  -device vfio-pci,host=01:00.1,bus=root0,addr=0.1 -nic user,mac=52:54:00:aa:bb:40\n"
    )
    profile, notes = imported(path)
    assert profile["pci"] == [{"host": "0000:01:00.0", "options": "x-vga=on"}, {"host": "0000:01:00.1"}]
    assert "extra_args" not in profile
    assert notes_about(notes, "dropped: vmrun gives each passed function a root port of its own (q35)")
    assert notes_about(notes, "bus=root0, addr=0.0, multifunction=on: not imported: vmrun places each passed")
    out = tmp_path / "vm.toml"
    assert run("import", str(path), "-o", str(out))[0] == 0
    argv = json.loads(run("show", str(out), "--json")[2])["argv"]
    assert "vfio-pci,host=0000:01:00.0,id=vmrun-vfio0,bus=vmrun-pci0,x-vga=on" in argv
    code, err, _ = run("show", str(out), "--libvirt")
    assert code == 2 and f"{out}: pci[0].options: 'x-vga=on': libvirt's <hostdev> has no place" in err.splitlines()[0]


def test_a_root_port_other_devices_use_too_stays(script):
    profile, _ = imported(
        script(
            f"{QEMU} -machine q35 -m 1G -device pcie-root-port,id=rp,chassis=1 -device vfio-pci,host=01:00.0,bus=rp "
            "-device virtio-rng-pci,bus=rp -nic user\n"
        )
    )
    assert profile["pci"] == [{"host": "0000:01:00.0"}]
    assert profile["extra_args"] == ["-device", "pcie-root-port,id=rp,chassis=1", "-device", "virtio-rng-pci,bus=rp"]


# --- more of what unseen scripts do ----------------------------------------------------------------


def test_qemu_in_a_variable_with_its_first_options(script):
    path = script('#!/bin/bash\nKVM="/usr/bin/qemu-kvm -enable-kvm"\n$KVM -m 1G -nic user,mac=52:54:00:aa:bb:50\n')
    profile, _ = imported(path)
    assert (profile["qemu"], profile["accel"], profile["memory"]) == ("/usr/bin/qemu-kvm", "kvm", "1G")


def test_variables_set_nowhere_are_left_out_as_the_shell_leaves_them(script):
    path = script(
        f'#!/bin/sh\nusb="-usb -usbdevice tablet ${{usb1}}"\n{QEMU} -m 1G $usb ${{VNC}} -hda /d.img -nic user\n'
    )
    profile, notes = imported(path)
    assert profile["tablet"] is True and [d["file"] for d in profile["drives"]] == ["/d.img"]
    assert notes_about(notes, ":2: ${usb1} is set nowhere in the script: taken as empty")
    assert notes_about(notes, ":3: ${VNC} is set nowhere in the script: left out, as the shell leaves out an unset")


def test_redir_becomes_a_forward_of_the_user_nic(script):
    profile, notes = imported(
        script(f"{QEMU} -m 1G -net nic,macaddr=52:54:00:aa:bb:51 -net user -redir tcp:3389::3389\n")
    )
    assert profile["nics"][0]["hostfwd"] == ["tcp:0.0.0.0:3389-:3389"] and "extra_args" not in profile
    code, err, _ = run("import", str(script(f"{QEMU} -m 1G -redir tcp:3389::3389 -nic none\n", "n.sh")), "-o", "-")
    assert code == 2 and "-redir tcp:3389::3389: QEMU 7.2 no longer takes -redir" in err.splitlines()[0]


def test_qemu_kvm_boot_on_is_dropped_from_the_drive(script):
    profile, notes = imported(script(f"{QEMU} -m 1G -drive file=/d.img,if=virtio,boot=on -nic user\n"))
    assert profile["drives"] == [{"file": "/d.img", "interface": "virtio"}] and "extra_args" not in profile
    assert notes_about(notes, "boot= on the drive: dropped")


def test_mq_and_vectors_on_a_single_queue_nic_are_carried_not_sunk(script):
    path = script(
        f"{QEMU} -m 1G -netdev user,id=n0 -device virtio-net-pci,mq=on,vectors=10,netdev=n0,mac=52:54:00:aa:bb:52\n"
    )
    profile, _ = imported(path)
    assert profile["nics"][0]["device_options"] == "mq=on,vectors=10" and "extra_args" not in profile


def test_a_qemu_command_run_through_eval_is_refused_in_one_line(script):
    path = script(f'#!/bin/bash\n\neval {QEMU} -m 1G -append \\"console=ttyS0 quiet\\"\n')
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2
    assert err.splitlines()[0].startswith(
        f"vmrun: error: {path}:3: eval runs a QEMU command that the shell reads twice"
    )


def test_memory_given_with_set_is_not_said_to_be_qemus_default(script):
    path = script(f"#!/bin/bash\nsource /etc/vmrun-not-there/vm.conf\n{QEMU} -m $MEM -nic user\n")
    profile, notes = imported(path, sets=["memory=3G"])
    assert profile["memory"] == "3G" and not notes_about(notes, "no -m")
