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


def test_isa_serial_devices_as_vmrun_show_prints_them_become_serials(script):
    """The form `vmrun show` gives [[serials]]: before, its own output imported as two extra_args per port."""
    path = script(
        f"{QEMU} -m 1G -serial stdio -chardev socket,id=s2,path=/s.sock,server=on,wait=off "
        "-device isa-serial,chardev=s2,index=2 -chardev socket,id=s1,host=127.0.0.1,port=4555,server=on,wait=off "
        "-device isa-serial,chardev=s1,index=1\n"
    )
    profile, notes = imported(path)
    assert profile["serials"] == [
        {"type": "tcp", "port": 4555, "addr": "127.0.0.1"},
        {"type": "unix", "path": "/s.sock"},
    ]
    assert "extra_args" not in profile
    assert notes_about(notes, "-device isa-serial,chardev=s1,index=1: imported as [[serials]] ttyS1 (type = 'tcp')")


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ("-chardev pty,id=s1 -device isa-serial,chardev=s1,index=2", "ttyS1 to ttyS3 without a gap"),
        ("-chardev pty,id=s1 -device isa-serial,chardev=s1", "chardev= and index= only"),
        ("-serial pty -chardev pty,id=s1 -device isa-serial,chardev=s1,index=1", "-serial ports take ttyS1"),
        ("-chardev ringbuf,id=s1 -device isa-serial,chardev=s1,index=1", "a socket, a file or a pty"),
    ],
)
def test_isa_serial_devices_the_keys_cannot_say_stay(script, options, why):
    profile, notes = imported(script(f"{QEMU} -m 1G -serial stdio {options}\n"))
    assert options.split()[-4:] == profile["extra_args"][-4:]  # the device and its chardev
    assert notes_about(notes, why)


def test_a_socket_path_with_a_comma_comes_through_whole(script):
    """Before, a chardev's path=/a,,b.sock (QEMU's /a,b.sock) was cut at the comma."""
    for options in (
        "-chardev socket,id=c1,path=/a,,b.sock,server=on,wait=off -serial chardev:c1",
        "-serial unix:/a,,b.sock,server,nowait",
    ):
        profile, _ = imported(script(f"{QEMU} -m 1G -serial stdio {options}\n"))
        assert profile["serials"] == [{"type": "unix", "path": "/a,b.sock"}], options


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


def test_a_cdrom_drive_keeps_its_cache_aio_and_format_but_the_cdrom_key_has_none(script):
    """A [[drives]] CD-ROM takes format, aio and cache (as `vmrun show` prints them); before, the import kept
    it in extra_args, behind every other option."""
    path = script(
        f"{QEMU} -m 2G -drive file=/a.iso,if=ide,media=cdrom,cache=none,aio=threads,format=raw,readonly=on "
        "-drive file=/b.iso,index=2,media=cdrom,cache=none\n"
    )
    profile, notes = imported(path)
    assert profile["drives"] == [
        {"file": "/a.iso", "interface": "ide", "format": "raw", "aio": "threads", "cache": "none", "media": "cdrom"}
    ]
    assert "cdrom" not in profile and profile["extra_args"] == ["-drive", "file=/b.iso,index=2,media=cdrom,cache=none"]
    assert notes_about(notes, "vmrun would put this CD-ROM at IDE index 1, the script has it at 2")


def test_a_cdrom_where_vmrun_would_put_it_elsewhere_stays(script):
    path = script(f"{QEMU} -m 2G -cdrom /a.iso -drive file=/b.iso,if=scsi,index=3,media=cdrom\n")
    profile, notes = imported(path)
    assert profile["extra_args"] == ["-drive", "file=/b.iso,if=scsi,index=3,media=cdrom"]
    assert notes_about(notes, "a CD-ROM on if=scsi")


def test_a_scsi_cdrom_in_its_place_among_the_scsi_drives_is_a_cdrom_drive(script):
    """As `vmrun show` gives a [[drives]] CD-ROM on scsi: before, it stayed in extra_args, behind the rest."""
    path = script(f"{QEMU} -m 2G -cdrom /a.iso -drive file=/d.img,if=scsi -drive file=/b.iso,if=scsi,media=cdrom\n")
    profile, _ = imported(path)
    assert profile["cdrom"] == "/a.iso" and "extra_args" not in profile
    assert profile["drives"] == [
        {"file": "/d.img", "interface": "scsi"},
        {"file": "/b.iso", "interface": "scsi", "media": "cdrom"},
    ]


# --- clock and tablet in vmrun's own form -------------------------------------------------------------


def test_the_clock_and_tablet_as_vmrun_show_prints_them_become_keys(script):
    """Before, `vmrun show`'s own -rtc and tablet came back as extra_args, at the end of the argv."""
    path = script(f"{QEMU} -m 1G -rtc base=localtime -usb -device usb-tablet,bus=usb-bus.0 -name x\n")
    profile, notes = imported(path)
    assert (profile["rtc"], profile["tablet"]) == ("localtime", True) and "extra_args" not in profile
    assert notes_about(notes, '-rtc base=localtime: imported as rtc = "localtime"')
    profile, _ = imported(script(f"{QEMU} -m 1G -rtc base=localtime -rtc clock=host\n"))
    assert profile["rtc"] == "localtime" and profile["extra_args"] == ["-rtc", "clock=host"]
    profile, _ = imported(script(f"{QEMU} -m 1G -usb -device usb-tablet,bus=usb-bus.0 -usb\n"))
    assert profile["tablet"] and profile["extra_args"] == ["-usb"]  # only vmrun's own -usb goes with it
    profile, _ = imported(script(f"{QEMU} -m 1G -usb -device usb-tablet,bus=usb-bus.0 -device usb-kbd\n"))
    assert profile["tablet"] and profile["extra_args"] == ["-device", "usb-kbd"]  # the tablet's port stays first


@pytest.mark.parametrize(
    "options",
    [
        "-rtc base=localtime,clock=host",
        "-rtc base=utc",
        "-usb -device usb-tablet",
        "-usb -device usb-kbd,bus=usb-bus.0 -device usb-tablet,bus=usb-bus.0",
        "-usbdevice mouse -usb -device usb-tablet,bus=usb-bus.0",
        "-device usb-tablet,bus=usb-bus.0",
    ],
)
def test_other_clock_and_tablet_forms_stay_as_written(script, options):
    profile, _ = imported(script(f"{QEMU} -m 1G {options}\n"))
    assert "rtc" not in profile and "tablet" not in profile and profile["extra_args"] == options.split()


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


def test_sata_drives_keep_their_place_among_the_other_drives(script):
    """vmrun gives [[drives]] in order: before, the AHCI's drives came after every other drive, so `vmrun show`
    of the import moved the controller behind a virtio disk (another PCI slot) and an IDE CD-ROM."""
    path = script(
        f"{QEMU} -m 1G -drive file=/a.img,if=virtio -device ahci,id=sata "
        "-drive id=d,file=/s.img,if=none -device ide-hd,drive=d,bus=sata.0 "
        "-drive file=/b.img,if=virtio -drive file=/c.iso,if=ide,media=cdrom\n"
    )
    profile, _ = imported(path)
    assert [d["file"] for d in profile["drives"]] == ["/a.img", "/s.img", "/b.img", "/c.iso"]
    assert "extra_args" not in profile


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
