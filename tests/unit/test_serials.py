"""[[serials]] and gdb: the keys and their refusals, the argv parts (pure; ttyS0 stays vmrun's console),
and the domain XML (validated)."""

from __future__ import annotations

import pytest

from tests.unit.test_domain_xml import Q, build, compact, tree, validate
from vmrun.argv import Control, build_argv
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, Serial, SerialType
from vmrun.show import option_lines

SERIALS = (
    '[[serials]]\ntype = "tcp"\nport = 4555\n'
    '[[serials]]\ntype = "telnet"\nport = 4556\naddr = "0.0.0.0"\n'
    '[[serials]]\ntype = "unix"\n'
)
CONTROL = Control("/run/vmrun/s/qmp.sock", "/run/vmrun/s/serial.sock", "/run/vmrun/s/serial.log")


def profile(write_profile, text: str):
    return load_profile(str(write_profile(f'name = "s"\naccel = "tcg"\n{text}', "s")))


def lines(p, **kw) -> list[list[str]]:
    return [list(line) for line in option_lines(build_argv(p, {}, qemu="qemu", accel=Accel.TCG, **kw))]


def test_serial_ports_after_the_console_on_loopback_by_default(write_profile):
    p = profile(write_profile, "gdb = 1234\n" + SERIALS)
    assert p.serials[0] == Serial(SerialType.TCP, 4555, "127.0.0.1") and p.gdb == "127.0.0.1:1234"
    got = lines(p, control=CONTROL)
    chardevs = [line[1] for line in got if line[0] == "-chardev" and "vmrun-serial" in line[1]]
    assert chardevs[:3] == [
        "socket,id=vmrun-serial1,host=127.0.0.1,port=4555,server=on,wait=off",
        "socket,id=vmrun-serial2,host=0.0.0.0,port=4556,server=on,wait=off,telnet=on",
        "socket,id=vmrun-serial3,path=/run/vmrun/s/serial3.sock,server=on,wait=off",
    ]
    assert ["-device", "isa-serial,chardev=vmrun-serial1,index=1"] in got
    assert ["-device", "isa-serial,chardev=vmrun-serial3,index=3"] in got
    assert ["-serial", "chardev:vmrun-serial"] in got  # the console keeps -serial, hence ttyS0
    assert ["-gdb", "tcp:127.0.0.1:1234"] in got


def test_file_and_pty_and_gdb_forms(write_profile, tmp_path):
    text = 'gdb = "tcp:0.0.0.0:1235"\n[[serials]]\ntype = "file"\npath = "out.log"\n[[serials]]\ntype = "pty"\n'
    p = profile(write_profile, text)
    got = [line[1] for line in lines(p) if line[0] in ("-chardev", "-gdb")]
    assert got == [f"file,id=vmrun-serial1,path={tmp_path}/out.log", "pty,id=vmrun-serial2", "tcp:0.0.0.0:1235"]
    assert profile(write_profile, 'gdb = "1236"\n').gdb == "127.0.0.1:1236"


def test_show_puts_a_unix_socket_in_the_run_folder(write_profile, monkeypatch, tmp_path):
    from vmrun.show import describe

    monkeypatch.setenv("VMRUN_RUNTIME_DIR", str(tmp_path / "rt"))
    argv = describe(profile(write_profile, '[[serials]]\ntype = "unix"\n'))["argv"]
    assert any(a.startswith("socket,id=vmrun-serial1,path=") and a.count("serial1.sock") == 1 for a in argv)


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("[[serials]]\nport = 1\n", "serials[0].type", "is required"),
        ('[[serials]]\ntype = "tcp"\n', "serials[0].port", "is required"),
        ('[[serials]]\ntype = "file"\n', "serials[0].path", "is required"),
        ('[[serials]]\ntype = "udp"\n', "serials[0].type", "udp"),
        ('[[serials]]\ntype = "unix"\nport = 3\n', "serials[0].port", "does not apply"),
        ('[[serials]]\ntype = "tcp"\nport = 1\naddr = "example.org"\n', "serials[0].addr", "not an IPv4 address"),
        ('gdb = 1234\n[[serials]]\ntype = "tcp"\nport = 1234\n', "serials[0].port", "already the port of gdb"),
        ('[[serials]]\ntype = "pty"\n' * 4, "serials[3]", "ttyS0 is vmrun's console"),
        ('gdb = "localhost:1"\n', "gdb", "not an IPv4 address"),
        ("gdb = 70000\n", "gdb", "not a TCP port"),
        ("gdb = true\n", "gdb", "expected"),
    ],
)
def test_bad_serial_keys_are_one_line_naming_the_field(write_profile, text, field, message):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, text)
    assert e.value.field == field and message in str(e.value) and "\n" not in str(e.value)


def test_domain_xml_serials_and_gdb(write_profile, tmp_path):
    text = "gdb = 1234\n" + SERIALS.replace('type = "unix"\n', 'type = "unix"\npath = "/tmp/s3.sock"\n')
    built = build(write_profile, text)
    root = tree(built)
    serials = [compact(s) for s in root.findall("devices/serial")]
    assert serials == [
        '<serial type="pty"><target port="0"/></serial>',
        '<serial type="tcp"><source mode="bind" host="127.0.0.1" service="4555"/><protocol type="raw"/>'
        '<target port="1"/></serial>',
        '<serial type="tcp"><source mode="bind" host="0.0.0.0" service="4556"/><protocol type="telnet"/>'
        '<target port="2"/></serial>',
        '<serial type="unix"><source mode="bind" path="/tmp/s3.sock"/><target port="3"/></serial>',
    ]
    assert [a.get("value") for a in root.iter(f"{Q}arg")] == ["-gdb", "tcp:127.0.0.1:1234"]
    assert any("gdb is passed in <qemu:commandline>" in w for w in built.warnings)
    validate(built.xml, tmp_path)
    file_pty = build(write_profile, '[[serials]]\ntype = "file"\npath = "/tmp/o.log"\n[[serials]]\ntype = "pty"\n')
    assert [compact(s) for s in tree(file_pty).findall("devices/serial")][1:] == [
        '<serial type="file"><source path="/tmp/o.log"/><target port="1"/></serial>',
        '<serial type="pty"><target port="2"/></serial>',
    ]
    validate(file_pty.xml, tmp_path)


def test_domain_xml_refuses_a_unix_socket_without_a_path(write_profile):
    with pytest.raises(ProfileError) as e:
        build(write_profile, '[[serials]]\ntype = "unix"\n')
    assert e.value.field == "serials[0].path" and "\n" not in str(e.value)
