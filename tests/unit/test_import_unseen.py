"""What a batch of public start scripts nobody here had seen taught `vmrun import`: one test per cause."""

from __future__ import annotations

import pytest

from tests.unit.test_import import QEMU, imported, notes_about, run, script  # noqa: F401 (the fixture)

# --- the macvtap recipe on old -net lines -----------------------------------------------------------


def test_the_macvtap_recipe_on_legacy_net_lines_imports_as_on_device_lines(script):
    path = script(
        "ip link add link eth0 name macvtap10 type macvtap mode bridge\n"
        f"{QEMU} -m 1G -net nic,model=virtio,macaddr=$(cat /sys/class/net/macvtap10/address) "
        "-net tap,fd=4 4<>/dev/tap$(cat /sys/class/net/macvtap10/ifindex)\n"
    )
    profile, notes = imported(path)
    assert profile["nics"] == [
        {"id": "net0", "model": "virtio-net-pci", "type": "macvtap", "parent": "eth0", "mode": "bridge"}
    ]
    assert "/sys/" not in str(profile) and "extra_args" not in profile
    assert notes_about(notes, "vmrun makes the macvtap with the NIC's own MAC")


# --- a disk is not sunk by words only the host sees -------------------------------------------------


@pytest.mark.parametrize(
    ("drive", "said"),
    [
        ("id=root,media=disk,file=/d.img,format=raw", "id=root dropped: only the host sees a drive's id"),
        ("file=/d.img,index=0,if=virtio,format=raw", "index=0 dropped: a virtio disk's index only names it"),
        ("driver=raw,file=/d.img,if=virtio", "driver=raw is the image format: imported as format"),
    ],
)
def test_a_drive_id_a_virtio_index_or_driver_format_keeps_the_disk_a_drive(script, drive, said):
    profile, notes = imported(script(f"{QEMU} -m 1G -drive {drive}\n"))
    assert profile["drives"][0]["file"] == "/d.img" and profile["drives"][0]["format"] == "raw"
    assert "extra_args" not in profile
    assert notes_about(notes, said)


def test_a_drive_id_another_option_names_stays_with_it(script):
    options = "-drive file=/d.img,id=disk,if=ide -set drive.disk.cache=none"
    profile, notes = imported(script(f"{QEMU} -m 1G {options}\n"))
    assert "drives" not in profile and profile["extra_args"] == options.split()
    assert not notes_about(notes, "dropped: only the host sees")


# --- removed options: today's form, a key, or dropped saying why -----------------------------------


@pytest.mark.parametrize(
    ("options", "extra", "display"),
    [
        ("-nodefconfig", ["-no-user-config"], "default"),
        ("-nodefconfig -no-user-config", ["-no-user-config"], "default"),
        ("-realtime mlock=off", ["-overcommit", "mem-lock=off"], "default"),
        ("-balloon virtio", ["-device", "virtio-balloon"], "default"),
        ("-balloon none", None, "default"),
        ("-sdl", None, "sdl"),
        ("-curses -alt-grab -ctrl-grab -no-frame -show-cursor -no-quit", None, "curses"),
        ("-sdl -display gtk", None, "gtk"),
        ("-enable-fips -tb-size 64", None, "default"),
    ],
)
def test_removed_options_are_not_handed_on(script, options, extra, display):
    profile, notes = imported(script(f"{QEMU} -m 1G {options}\n"))
    assert profile.get("extra_args") == extra
    assert profile["display"] == display
    assert notes_about(notes, "QEMU 7.2 no longer takes it") or notes_about(notes, "dropped: ")


def test_a_removed_option_with_a_value_vmrun_cannot_translate_is_refused_in_one_line(script):
    path = script(f"{QEMU} -m 1G -realtime on\n")
    code, err, _ = run("import", str(path), "-o", "-")
    assert code == 2
    assert err.splitlines()[0] == (
        f"vmrun: error: {path}:1: -realtime on: QEMU 7.2 no longer takes -realtime, "
        "and vmrun knows no form of 'on' it takes"
    )


# --- the shell's default idioms -----------------------------------------------------------------------


def test_colon_with_assigning_defaults_sets_the_variables_for_the_command(script):
    path = script(
        ': "${OS_IMAGE:="./disk.img"}"\n'
        ': "${SSH_PORT:=2222}"\n'
        f'{QEMU} -m 1G -netdev user,id=n0,hostfwd=tcp::"$SSH_PORT"-:22 -device e1000,netdev=n0,mac=52:54:00:aa:bb:01 '
        '-drive if=virtio,file="$OS_IMAGE"\n'
    )
    profile, notes = imported(path)
    assert profile["drives"][0]["file"] == str(path.parent / "disk.img")
    assert profile["nics"][0]["hostfwd"] == ["tcp:0.0.0.0:2222-:22"]
    assert "$" not in str(profile) and "extra_args" not in profile
    assert notes_about(notes, 'comes from ${OS_IMAGE:="./disk.img"} ($OS_IMAGE from the environment)')


def test_double_quotes_inside_a_quoted_default_are_removed_as_bash_does(script):
    profile, _ = imported(script(f'{QEMU} -m "${{1:-"2G"}}" -hda "${{D:-"a b.img"}}" -append "${{A:-\'x\'}}"\n'))
    assert profile["memory"] == "2G" and profile["drives"][0]["file"].endswith("/a b.img")
    assert profile["append"] == "'x'"  # single quotes stay in a double-quoted default, as in bash
