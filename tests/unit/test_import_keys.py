"""`vmrun import` uses the whole-VM device keys where the script says the same thing: boot order, serial
ports, the gdb stub, more CD-ROMs, today's sound card."""

from __future__ import annotations

import pytest

from tests.unit.test_import import QEMU, imported, notes_about, script  # noqa: F401 (the fixture)

# --- boot order -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("boot", "keys"),
    [
        ("-boot order=dc,menu=on", {"boot": ["cdrom", "disk"], "boot_menu": True}),
        ("-boot d", {"boot": ["cdrom"]}),
        ("-boot c", {"boot": ["disk"]}),
        ("-boot ncd", {"boot": ["network", "disk", "cdrom"]}),
        ("-boot menu=on", {"boot_menu": True}),
    ],
)
def test_a_boot_order_and_menu_become_keys(script, boot, keys):
    profile, notes = imported(script(f"{QEMU} -m 1G -hda /d.img -cdrom /i.iso {boot}\n"))
    assert {k: profile[k] for k in ("boot", "boot_menu") if k in profile} == keys
    assert "extra_args" not in profile and profile["cdrom"] == "/i.iso"
    assert notes_about(notes, f"{boot}: imported as ")


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ("-boot once=d", "vmrun has no key for -boot's once"),
        ("-boot order=c,once=d", "vmrun has no key for -boot's once"),
        ("-boot order=cdc", "each once"),
        ("-boot a", "each once"),
        ("-boot order=d,strict=on", "vmrun has no key for -boot's strict"),
        ("-kernel /vmlinuz -boot c", "the kernel given with -kernel boots before any boot order"),
        ("-bios /usr/share/ovmf/OVMF.fd -boot d", "OVMF ignores -boot order="),
    ],
)
def test_a_boot_option_without_a_key_stays_as_it_is(script, options, why):
    profile, notes = imported(script(f"{QEMU} -m 1G -cdrom /i.iso {options}\n"))
    assert "boot" not in profile and "boot_menu" not in profile
    assert profile["extra_args"][-2] == "-boot"
    assert notes_about(notes, why)


# --- serial ports ---------------------------------------------------------------------------------


def test_the_ports_after_the_console_become_serials(script):
    path = script(
        f"{QEMU} -m 1G -serial mon:stdio -serial tcp::4555,server,nowait "
        "-serial telnet:127.0.0.1:4556,server=on,wait=off -serial unix:/run/s.sock,server,nowait\n"
    )
    profile, notes = imported(path)
    assert profile["serials"] == [
        {"type": "tcp", "port": 4555, "addr": "0.0.0.0"},
        {"type": "telnet", "port": 4556, "addr": "127.0.0.1"},
        {"type": "unix", "path": "/run/s.sock"},
    ]
    assert "extra_args" not in profile
    assert notes_about(notes, "-serial mon:stdio: dropped: vmrun gives the first serial port (ttyS0)")
    assert notes_about(notes, "-serial tcp::4555,server,nowait: no host, so QEMU listens on all addresses")
    assert notes_about(notes, "imported as [[serials]] ttyS3 (type = 'unix')")


def test_a_first_or_last_port_left_out_is_dropped(script):
    profile, notes = imported(script(f"{QEMU} -m 1G -serial none -serial pty -serial none\n"))
    assert profile["serials"] == [{"type": "pty"}] and "extra_args" not in profile
    assert notes_about(notes, "-serial none: dropped: it leaves out a port no later one needs")


def test_file_and_pty_ports_and_a_waiting_server_noted(script):
    path = script(f"{QEMU} -m 1G -serial stdio -serial file:ttyS1.log -serial pty -serial tcp:127.0.0.1:9,server\n")
    profile, notes = imported(path)
    assert profile["serials"] == [
        {"type": "file", "path": str(path.parent / "ttyS1.log")},
        {"type": "pty"},
        {"type": "tcp", "port": 9, "addr": "127.0.0.1"},
    ]
    assert notes_about(notes, "QEMU waited for a client before starting the guest; vmrun's port does not wait")
    assert notes_about(notes, "-serial stdio: dropped: vmrun gives the first serial port")


@pytest.mark.parametrize(
    ("port", "why"),
    [
        ("vc", "vmrun's serial ports are tcp, telnet, unix, file or pty"),
        ("tcp:10.0.0.1:4555", "a client connection"),
        ("tcp:localhost:4555,server,nowait", "vmrun listens on an IPv4 address, not localhost"),
        ("/dev/ttyS0", "vmrun's serial ports are"),
        ("none -serial pty", "vmrun's [[serials]] are ttyS1, ttyS2, ... without a gap"),
    ],
)
def test_one_port_without_a_key_keeps_every_port_after_the_console_in_order(script, port, why):
    profile, notes = imported(script(f"{QEMU} -m 1G -serial stdio -serial pty -serial {port}\n"))
    assert "serials" not in profile
    assert profile["extra_args"] == ["-serial", "pty", *[w for p in port.split(" -serial ") for w in ("-serial", p)]]
    assert notes_about(notes, why)
    assert not notes_about(notes, "listens on all addresses")


def test_ports_given_as_chardevs_become_serials_and_the_consoles_chardev_goes_with_it(script):
    path = script(
        f"{QEMU} -m 1G -chardev stdio,id=c0,signal=on -chardev file,id=c1,path=/k.log "
        "-chardev socket,id=c2,port=4555,server=on,wait=off,telnet=on -chardev socket,id=c3,path=/s.sock,server=on,wait=off "
        "-serial chardev:c0 -serial chardev:c1 -serial chardev:c2 -serial chardev:c3\n"
    )
    profile, notes = imported(path)
    assert profile["serials"] == [
        {"type": "file", "path": "/k.log"},
        {"type": "telnet", "port": 4555, "addr": "0.0.0.0"},
        {"type": "unix", "path": "/s.sock"},
    ]
    assert "extra_args" not in profile
    assert notes_about(notes, "-chardev stdio,id=c0,signal=on: dropped with the console port that used it")


@pytest.mark.parametrize(
    "chardev",
    ["file,id=c1,path=/k.log,logfile=/x", "socket,id=c1,host=10.0.0.1,port=4555", "ringbuf,id=c1"],
)
def test_a_chardev_port_the_keys_cannot_say_stays_with_its_chardev(script, chardev):
    options = f"-chardev {chardev} -serial chardev:c1"
    profile, _ = imported(script(f"{QEMU} -m 1G -serial stdio {options}\n"))
    assert "serials" not in profile and profile["extra_args"] == options.split()


# --- gdb ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stub", "gdb", "all_addresses"),
    [
        ("-s", "0.0.0.0:1234", True),
        ("-gdb tcp::1235", "0.0.0.0:1235", True),
        ("-gdb tcp:127.0.0.1:1236", "127.0.0.1:1236", False),
    ],
)
def test_the_gdb_stub_keeps_the_scripts_address(script, stub, gdb, all_addresses):
    profile, notes = imported(script(f"{QEMU} -m 1G {stub} -S\n"))
    assert profile["gdb"] == gdb
    assert profile["extra_args"] == ["-S"]
    assert bool(notes_about(notes, f"{stub}: no host, so QEMU listens on all addresses")) is all_addresses


@pytest.mark.parametrize("stub", ["-gdb unix:/tmp/g.sock,server", "-gdb stdio", "-s -gdb tcp::1240"])
def test_a_gdb_stub_the_key_cannot_say_stays(script, stub):
    profile, _ = imported(script(f"{QEMU} -m 1G {stub}\n"))
    assert "gdb" not in profile and profile["extra_args"] == stub.split()


# --- more CD-ROMs -------------------------------------------------------------------------------------


def test_a_driver_disc_besides_the_installer_is_a_cdrom_drive(script):
    path = script(f"{QEMU} -m 2G -hda /win.qcow2 -cdrom /win10.iso -drive file=/virtio-win.iso,media=cdrom -boot d\n")
    profile, notes = imported(path)
    assert profile["cdrom"] == "/win10.iso" and profile["boot"] == ["cdrom"]
    assert profile["drives"] == [
        {"file": "/win.qcow2", "interface": "ide"},
        {"file": "/virtio-win.iso", "interface": "ide", "media": "cdrom"},
    ]
    assert "extra_args" not in profile
    assert notes_about(notes, "(IDE index 1)")


def test_two_cdrom_drives_by_index_and_the_one_at_index_2_is_the_cdrom_key(script):
    path = script(
        f"{QEMU} -m 2G -drive file=/a.iso,index=0,media=cdrom -drive file=/b.iso,index=1,media=cdrom "
        "-drive file=/c.iso,index=2,media=cdrom -drive file=/d.qcow2,if=virtio\n"
    )
    profile, _ = imported(path)
    assert profile["cdrom"] == "/c.iso"
    assert [d.get("media") for d in profile["drives"]] == ["cdrom", "cdrom", None]
    assert "extra_args" not in profile


def test_a_cdrom_where_vmrun_would_put_it_elsewhere_stays(script):
    path = script(f"{QEMU} -m 2G -cdrom /a.iso -drive file=/b.iso,if=scsi,media=cdrom\n")
    profile, notes = imported(path)
    assert profile["extra_args"] == ["-drive", "file=/b.iso,if=scsi,media=cdrom"]
    assert notes_about(notes, "a CD-ROM on if=scsi")


# --- today's sound card ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "audio", "backend"),
    [
        ("-audiodev pa,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0", "hda", "pa"),
        ("-audiodev alsa,id=a -device intel-hda,id=sound0 -device hda-duplex,bus=sound0.0,audiodev=a", "hda", "alsa"),
        ("-audiodev none,id=a -device AC97,audiodev=a", "ac97", None),
        ("-device intel-hda -device hda-duplex", "hda", None),
    ],
)
def test_an_hda_or_ac97_card_and_its_audiodev_become_keys(script, options, audio, backend):
    profile, notes = imported(script(f"{QEMU} -m 1G {options}\n"))
    assert (profile["audio"], profile.get("audio_backend")) == (audio, backend)
    assert "extra_args" not in profile
    if "-audiodev" not in options:
        assert notes_about(notes, "QEMU chose a host backend itself")


@pytest.mark.parametrize(
    "options",
    [
        "-audiodev pa,id=snd0,server=/run/pulse -device intel-hda -device hda-duplex,audiodev=snd0",
        "-audiodev pa,id=snd0 -device ich9-intel-hda -device hda-duplex,audiodev=snd0",
        "-audiodev pa,id=snd0 -device intel-hda -device hda-output,audiodev=snd0",
        "-audiodev coreaudio,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0",
    ],
)
def test_a_sound_card_vmrun_does_not_give_stays(script, options):
    profile, _ = imported(script(f"{QEMU} -m 1G {options}\n"))
    assert "audio" not in profile and profile["extra_args"] == options.split()


# --- drives on an AHCI controller of the script's ------------------------------------------------

_AHCI = (
    "-drive id=disk,file=/w.qcow2,if=none,format=qcow2 -device ide-hd,drive=disk,bus=sata.0 "
    "-drive id=cd,file=/w.iso,if=none,media=cdrom -device ide-cd,drive=cd,bus=sata.1"
)


@pytest.mark.parametrize("controller", ["ahci", "ich9-ahci"])
def test_drives_on_the_scripts_ahci_are_sata_drives(script, controller):
    profile, notes = imported(script(f"{QEMU} -m 1G -M q35 -device {controller},id=sata {_AHCI}\n"))
    assert profile["drives"] == [
        {"file": "/w.qcow2", "interface": "sata", "format": "qcow2"},
        {"file": "/w.iso", "interface": "sata", "media": "cdrom"},
    ]
    assert "extra_args" not in profile
    assert notes_about(notes, 'its 2 drive(s) imported as [[drives]] interface = "sata"')


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("bus=sata.1", "bus=sata.2"), "the script leaves a gap"),
        (("drive=disk,bus=sata.0", "drive=disk,bus=sata.0,bootindex=1"), "with a drive and a port only"),
        (("if=none,media=cdrom", "if=none"), "a ide-cd needs a drive with media=cdrom"),
        (("format=qcow2", "format=qcow2,discard=unmap"), "not a drive vmrun's sata drives can say"),
    ],
)
def test_an_ahci_setup_vmrun_does_not_give_stays_whole(script, change, why):
    options = f"-device ahci,id=sata {_AHCI}".replace(*change)
    profile, notes = imported(script(f"{QEMU} -m 1G {options}\n"))
    assert "drives" not in profile and profile["extra_args"] == options.split()
    assert notes_about(notes, why)


def test_drives_on_q35s_own_ahci_stay(script):
    options = "-drive id=d,file=/w.qcow2,if=none -device ide-hd,drive=d,bus=ide.0"
    profile, _ = imported(script(f"{QEMU} -m 1G -M q35 {options}\n"))
    assert "drives" not in profile and profile["extra_args"] == options.split()
