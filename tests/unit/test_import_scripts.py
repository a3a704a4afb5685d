"""`vmrun import` on scripts as people write them: arguments, $(...), what is dropped, QEMU's defaults kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.test_import import QEMU, imported, notes_about, run, script  # noqa: F401 (the fixture)

# -- the script's arguments ------------------------------------------------------------------------


def test_arguments_after_double_dash_fill_dollar_n_and_at(script):
    path = script(f"#!/bin/sh\n{QEMU} -m $2 -drive file=${{1}},if=virtio -nic user,hostfwd=tcp::$3-:22\n")
    profile, _ = imported(path, args=["disk.qcow2", "2G", "22219"])
    assert profile["memory"] == "2G"
    assert profile["drives"][0]["file"] == str(path.parent / "disk.qcow2")
    assert profile["nics"][0]["hostfwd"] == ["tcp:0.0.0.0:22219-:22"]
    # "$@" is every argument, each its own word, as QEMU would get them; $* too, unquoted.
    profile, _ = imported(script(f'{QEMU} -m 1G -cdrom "$@"\n', "at.sh"), args=["my install.iso"])
    assert profile["cdrom"] == str(path.parent / "my install.iso")
    profile, _ = imported(script(f"{QEMU} -m 1G $* -smp 2\n", "star.sh"), args=["-name", "web"])
    assert profile["name"] == "web" and profile["smp"] == 2


def test_a_missing_argument_names_the_line_and_says_how_to_give_it(script):
    path = script(f"#!/bin/sh\n\n{QEMU} -m $2\n")
    code, err, _ = run("import", str(path), "-o", "-", "--", "only-one")
    assert code == 2
    assert err.splitlines()[0].startswith(
        f"vmrun: error: {path}:3: $2 is the script's argument 2, but only 1 was given after --"
    )


def test_defaults_still_apply_where_an_argument_is_not_given(script):
    profile, _ = imported(script(f"{QEMU} -m ${{2:-3G}} -smp ${{1:-2}}\n"), args=["4"])
    assert (profile["memory"], profile["smp"]) == ("3G", 4)


def test_cdrom_of_all_arguments_without_them_is_left_out_whole(script):
    profile, notes = imported(script(f'{QEMU} -m 1G -cdrom "$@" -smp 2\n'))
    assert "cdrom" not in profile and profile["smp"] == 2 and "extra_args" not in profile
    assert notes_about(notes, '-cdrom "$@": not imported: its value is the script\'s own arguments; give them after --')


# -- command substitution ---------------------------------------------------------------------------


def test_read_only_substitutions_are_fixed_at_import_with_a_note(script, tmp_path):
    (tmp_path / "vm.mem").write_text("3G\n")
    path = script(
        'DIR=$(cd "$(dirname "$0")" && pwd)\nHERE=$(dirname "$(realpath "$0")")\n'
        f"{QEMU} -smp $(nproc) -m $(cat vm.mem) -kernel $DIR/vmlinuz -initrd $HERE/initrd "
        "-drive file=$(pwd)/disk.qcow2,if=virtio -bios $(realpath ../ovmf.fd)\n"
    )
    profile, notes = imported(path)
    assert profile["smp"] == os.cpu_count()
    assert profile["memory"] == "3G"
    assert profile["kernel"] == str(tmp_path / "vmlinuz") and profile["initrd"] == str(tmp_path / "initrd")
    assert profile["drives"][0]["file"] == str(tmp_path / "disk.qcow2")
    assert profile["firmware"] == "uefi" and "extra_args" not in profile  # an OVMF -bios is UEFI firmware
    assert notes_about(notes, f"{tmp_path.parent / 'ovmf.fd'}: firmware")
    assert notes_about(notes, "$(nproc) is")
    assert notes_about(notes, f"$(cat vm.mem) is '3G', read from {tmp_path / 'vm.mem'} at import; fixed at import")


@pytest.mark.parametrize("target", ["/etc/shadow", "../secret", "link-to-shadow", "/proc/self/environ"])
def test_cat_reads_only_plain_files_beside_the_script(script, tmp_path, target):
    (tmp_path.parent / "secret").write_text("s3cret\n")
    (tmp_path / "link-to-shadow").symlink_to("/etc/shadow")
    path = script(f'{QEMU} -m 1G -append "$(cat {target})"\n')
    code, err, out = run("import", str(path), "-o", "-")
    assert code == 2
    [line] = err.splitlines()[:1]
    assert line.startswith(f"vmrun: error: {path}:1: $(cat {target})")
    assert "root:" not in err + out and "s3cret" not in err + out


def test_other_substitutions_name_the_set_that_fills_them(script):
    path = script(f"{QEMU} \\\n  -m $(free -g | awk '/Mem/{{print $2}}')G -smp 2\n")
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2
    assert err.splitlines()[0].endswith(f"or give it: vmrun import {path} --set memory=VALUE")
    profile, notes = imported(path, sets=["memory=6G"])
    assert profile["memory"] == "6G" and profile["smp"] == 2
    assert notes_about(notes, ":2: -m $(free -g | awk '/Mem/{print $2}')G: not imported; memory is given with --set")


def test_the_macvtap_recipe_freezes_nothing_of_this_host(script):
    path = script(
        "ip link add link eth0 name macvtap0 type macvtap mode bridge\n"
        "TAP=/dev/tap$(cat /sys/class/net/macvtap0/ifindex)\n"
        f"{QEMU} -m 1G -netdev tap,fd=3,id=n0 -device virtio-net-pci,netdev=n0,mac=$(cat /sys/class/net/macvtap0/address) "
        "3<>$TAP\n"
    )
    profile, notes = imported(path)
    assert profile["nics"] == [
        {"id": "n0", "model": "virtio-net-pci", "type": "macvtap", "parent": "eth0", "mode": "bridge"}
    ]
    assert "/sys/" not in str(profile) and "extra_args" not in profile


# -- nothing dropped without a word -----------------------------------------------------------------


def test_pipes_background_redirections_sudo_daemonize_and_a_second_qemu_are_noted(script):
    path = script(f"sudo {QEMU} -m 1G -daemonize -nic user 2>&1 | tee vm.log &\n{QEMU} -m 2G\n")
    profile, notes = imported(path)
    assert profile["memory"] == "1G"
    for words in (
        ":1: QEMU's output is piped",
        ":1: QEMU is started in the background (&)",
        ":1: the redirection 2>&1 is not imported",
        "under 'sudo'",
        ":1: -daemonize: dropped",
        ":2: a second QEMU command",
    ):
        assert notes_about(notes, words), words


def test_qemus_defaults_stay_qemus(script):
    profile, notes = imported(script(f"{QEMU} -smp 2 -drive file=/d.img\n"))
    assert profile["memory"] == "128M"
    assert "nics" not in profile
    assert notes_about(notes, 'no -m: QEMU gives the guest 128M, so memory = "128M"')
    assert notes_about(notes, "no NIC option: QEMU gives the guest its default NIC")


@pytest.mark.parametrize("accel", ["-accel hvf", "-machine q35,accel=hvf", "-accel whpx", "-machine accel=hvf:tcg"])
def test_other_hosts_accelerators_are_auto(script, accel):
    profile, notes = imported(script(f"{QEMU} -m 1G {accel}\n"))
    assert profile["accel"] == "auto"
    assert "extra_args" not in profile
    assert notes_about(notes, 'on Linux that is KVM: imported as accel = "auto"')


def test_cdrom_keeps_ide_index_2_and_a_cdrom_elsewhere_is_a_drive_where_vmrun_puts_it_there(script):
    profile, _ = imported(script(f"{QEMU} -m 1G -cdrom /x.iso\n"))
    assert profile["cdrom"] == "/x.iso"
    profile, notes = imported(script(f"{QEMU} -m 1G -drive file=/x.iso,media=cdrom\n"))  # index 0: the first free
    assert "cdrom" not in profile and profile["drives"] == [{"file": "/x.iso", "interface": "ide", "media": "cdrom"}]
    assert notes_about(notes, 'a CD-ROM besides the first: imported as [[drives]] media = "cdrom" (IDE index 0)')
    profile, notes = imported(script(f"{QEMU} -m 1G -drive file=/x.iso,media=cdrom,index=3\n"))
    assert profile["extra_args"] == ["-drive", "file=/x.iso,media=cdrom,index=3"]
    assert notes_about(notes, "vmrun would put this CD-ROM at IDE index 0, the script has it at 3")


def test_relative_paths_in_extra_args_are_taken_from_the_scripts_folder(script, tmp_path):
    profile, _ = imported(
        script(
            f"{QEMU} -m 1G -drive file=d.qcow2,if=none,id=d0 -device virtio-blk-pci,drive=d0 "
            "-pflash vars.fd -netdev tap,id=t,script=./up.sh -device e1000,netdev=t\n"
        )
    )
    assert profile["extra_args"] == [
        "-drive",
        f"file={tmp_path}/d.qcow2,if=none,id=d0",
        "-device",
        "virtio-blk-pci,drive=d0",
        "-pflash",
        f"{tmp_path}/vars.fd",
    ]
    assert profile["nics"][0]["script"] == f"{tmp_path}/up.sh"


def test_import_writes_where_up_finds_it(script, tmp_path, private_config, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = script(f"{QEMU} -m 1G -name web\n")
    code, _, out = run("import", str(path))
    assert code == 0
    written = private_config / "vmrun" / "profiles" / "web.toml"
    assert out == f"wrote {written} (see it with: vmrun show web)\n"
    monkeypatch.chdir(Path("/"))
    code, err, out = run("show", "web")
    assert code == 0, err


def test_a_legacy_hub_shared_by_two_nics_is_refused_naming_its_lines():
    """The one form the import refuses (tests/data/import-refused): vmrun gives each NIC a backend of its own."""
    from tests.conftest import DATA

    path = DATA / "import-refused" / "hub-two-nics.sh"
    code, err, out = run("import", str(path), "-o", "-")
    assert code == 2 and out == ""
    assert err.splitlines()[0] == (
        f"vmrun: error: {path}:7: hub 0 (-net ...,vlan=0, lines 7, 8, 9) joins 2 NICs and 1 backends; vmrun gives "
        "each NIC a backend of its own"
    )
    assert "give each -net nic its own vlan=" in err
