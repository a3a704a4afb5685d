"""Hostile or absurd input: control characters in any string, sizes and counts past what QEMU takes.

Each is refused at load with exit code 2 and one line naming the file and field (or the option as
typed), never a traceback and never an argv that smuggles a second line into QEMU or a monitor.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from vmrun.cli import app
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.load import Override

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stderr.strip()


def one_line(err: str) -> str:
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


SPICE = "[spice]\nport = 5900\n"
BRIDGE_NIC = '[[nics]]\ntype = "bridge"\nbridge = "br0"\n'


# TOML escapes (\u0000, \t, \n ...) put the raw control character into the string value.
@pytest.mark.parametrize(
    ("text", "field", "code_point"),
    [
        (r'append = "console=ttyS0\u0000init=/bin/sh"', "append", "U+0000"),
        (SPICE + r'password = "sec\tret"', "spice.password", "U+0009"),
        (SPICE + r'addr = "127.0.0.1\n"', "spice.addr", "U+000A"),
        (r'process = "vm\nx"', "process", "U+000A"),
        (r'qemu = "qemu-system-x86_64\r"', "qemu", "U+000D"),
        (r'kernel = "/boot/vmlinuz\u001b[2J"', "kernel", "U+001B"),
        (r'extra_args = ["-device", "virtio-rng-pci\n-daemonize"]', "extra_args[1]", "U+000A"),
        (r'extra_args = ["-s", "-S", "a\u007fb"]', "extra_args[2]", "U+007F"),
        (r'cpu = "host\u0085"', "cpu", "U+0085"),
        ('[[nics]]\ntype = "bridge"\n' + r'bridge = "br0\n"', "nics[0].bridge", "U+000A"),
        ("[[nics]]\n" + r'hostfwd = ["tcp::2222-:22\n"]', "nics[0].hostfwd[0]", "U+000A"),
        (BRIDGE_NIC + "[[nics]]\n" + r'id = "n\t1"', "nics[1].id", "U+0009"),
        ("[[nics]]\n" + r'net = "10.0.2.0/24\t"', "nics[0].net", "U+0009"),
        ("[[drives]]\n" + r'file = "disk.qcow2\n"', "drives[0].file", "U+000A"),
        ("[[networks]]\n" + r'name = "lab\n"', "networks[0].name", "U+000A"),
        ('[[networks]]\nname = "lab"\nkind = "bridge"\n' + r'uplink = "eth0\u0000"', "networks[0].uplink", "U+0000"),
    ],
)
def test_control_character_in_any_string_is_refused(write_profile, text, field, code_point):
    path = write_profile(f'name = "x"\n{text}\n')
    code, err = run("show", str(path))
    assert code == 2
    assert one_line(err) == (
        f"vmrun: error: {path}: {field}: contains a control character ({code_point}); QEMU options cannot carry it"
    )


def test_control_character_in_an_override_names_it_escaped(write_profile):
    path = write_profile('name = "x"\n')
    code, err = run("show", str(path), "--set", "append=quiet\ninit=/bin/sh")
    assert code == 2
    assert one_line(err).startswith(
        "vmrun: error: --set append=quiet\\x0ainit=/bin/sh: contains a control character (U+000A)"
    )
    code, err = run("show", str(path), "--memory", "8G\n")
    assert code == 2 and one_line(err).startswith("vmrun: error: --memory 8G\\x0a: contains a control character")


def test_control_character_in_a_key_keeps_the_error_on_one_line(write_profile):
    path = write_profile('name = "x"\n"mem\\nory" = "1G"\n')
    code, err = run("show", str(path))
    assert code == 2
    assert err.splitlines() == [f"vmrun: error: {path}: mem\\x0aory: unknown key", "  hint: did you mean 'memory'?"]


@pytest.mark.parametrize("size", ["99999999999999999999G", "4097T", "1E", "9" * 400 + "G", "1" + "0" * 330])
def test_absurd_memory_is_one_line(write_profile, size):
    path = write_profile('name = "x"\n')
    code, err = run("show", str(path), "--memory", size)
    assert code == 2
    assert (
        one_line(err)
        == f"vmrun: error: --memory {size}: {size!r} is too large: at most 4P (x86-64 addresses 52 physical bits)"
    )


@pytest.mark.parametrize("value", ['"99999999999999999999G"', "99999999999999999999"])
def test_absurd_memory_in_the_file(write_profile, value):
    path = write_profile(f'name = "x"\nmemory = {value}\n')
    code, err = run("show", str(path))
    assert (
        code == 2 and one_line(err).startswith(f"vmrun: error: {path}: memory: ") and "is too large: at most 4P" in err
    )


@pytest.mark.parametrize(("size", "mib"), [("1T", 1024**2), ("4P", 4 * 1024**3), ("4194304G", 4 * 1024**3)])
def test_memory_up_to_4p_is_left_for_qemu_to_judge(write_profile, size, mib):
    """`--memory 1T` on a small host is QEMU's to refuse at run time, not the loader's."""
    path = write_profile('name = "x"\n')
    assert load_profile(str(path), overrides=[Override("memory", size, f"--memory {size}")]).memory_mib == mib


def test_just_over_4p_is_refused(write_profile):
    path = write_profile('name = "x"\n')
    with pytest.raises(ProfileError, match="too large"):
        load_profile(str(path), overrides=[Override("memory", 4 * 1024**3 + 1, "--memory 4294967297")])


@pytest.mark.parametrize("smp", ["99999999999999999999", "4097", "-1"])
def test_absurd_smp_is_one_line(write_profile, smp):
    path = write_profile('name = "x"\n')
    code, err = run("show", str(path), "--smp", smp)
    assert code == 2 and one_line(err) == f"vmrun: error: --smp {smp}: {smp} is out of range 1-4096"
