"""What `up` prints of a VM's extra serial ports and gdb stub: the same lines on both engines; under a
remote libvirt they say on which host they listen."""

from __future__ import annotations

import tomllib

from vmrun.engines.libvirt.vm import LibvirtVm
from vmrun.profile.load import parse_profile
from vmrun.runstate import RunState
from vmrun.summary import libvirt_summary, serial_lines

PROFILE = """name = "s"
gdb = 1234
[[serials]]
type = "tcp"
port = 4555
[[serials]]
type = "unix"
path = "/srv/s/ttyS2.sock"
"""


def profile():
    return parse_profile(tomllib.loads(PROFILE), "/tmp/s.toml", default_name="s")


def test_serial_lines_name_each_port_and_the_gdb_stub() -> None:
    assert serial_lines(profile(), "/run/vmrun/s") == [
        "  ttyS1    tcp 127.0.0.1:4555",
        "  ttyS2    unix /srv/s/ttyS2.sock",
        "  gdb      target remote 127.0.0.1:1234",
    ]


def test_libvirt_up_summary_lists_them_and_where() -> None:
    state = RunState(name="s", profile="/tmp/s.toml", accel="tcg", argv=[], started=0.0)
    local = libvirt_summary(LibvirtVm("qemu:///system", "s"), state, profile(), persist=False).splitlines()
    assert "  ttyS1    tcp 127.0.0.1:4555" in local and "  gdb      target remote 127.0.0.1:1234" in local
    remote = libvirt_summary(LibvirtVm("qemu+ssh://lab1/system", "s"), state, profile(), persist=True)
    assert "  ttyS1    tcp 127.0.0.1:4555  (on lab1)\n" in remote
    assert "  gdb      target remote 127.0.0.1:1234  (on lab1)\n" in remote
