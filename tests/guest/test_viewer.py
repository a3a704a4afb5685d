"""`vmrun viewer` with the real remote-viewer under Xvfb: it connects to the guest's SPICE port, and shows something.

The X server runs outside the test's namespace; X's unix socket (/tmp/.X11-unix)
reaches across network namespaces, so the viewer runs inside it, as vmrun does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import guest_profile, vmrun_bin

pytestmark = [pytest.mark.root, pytest.mark.guest]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise AssertionError("no free X display number")


def start_xvfb() -> tuple[subprocess.Popen, int]:
    # -br: a black root window, so that an empty screen is one colour (the default is a weave pattern).
    for _ in range(5):
        n = free_display()
        xvfb = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", "800x600x24", "-br", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and xvfb.poll() is None:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return xvfb, n
            time.sleep(0.05)
        stop(xvfb)  # lost the race for that number: take another
    raise AssertionError("Xvfb did not start")


def stop(p: subprocess.Popen | None) -> None:
    if p is not None and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def screen_colours(display: int) -> int:
    """How many distinct pixel values the screen holds, read from xwd's dump (an XWD file: header, colours, pixels)."""
    dump = subprocess.run(
        ["xwd", "-root", "-silent", "-display", f":{display}"], capture_output=True, check=True
    ).stdout
    header = struct.unpack(">25I", dump[:100])
    header_size, width, height, bpp, bytes_per_line, ncolors = (header[i] for i in (0, 4, 5, 11, 12, 19))
    step = bpp // 8
    assert step in (3, 4), f"{bpp} bits per pixel"
    pixels = dump[header_size + ncolors * 12 :]
    seen = set()
    for y in range(height):
        row = pixels[y * bytes_per_line : y * bytes_per_line + width * step]
        seen.update(row[i : i + step] for i in range(0, len(row), step))
    return len(seen)


def spice_connections(netns, port: int) -> list[str]:
    out = netns.run("ss", "-tnH", "state", "established", f"( dport = :{port} )").stdout
    return out.splitlines()


def test_viewer_connects_and_shows_the_screen(vm, write_profile, test_guest, tmp_path):
    with socket.socket() as s:  # any free port: the namespace is the test's own, loopback only
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spice = f'[spice]\nport = {port}\npassword = "s3cret pass\\\\word"\n'
    path = guest_profile(write_profile, test_guest, "", extra=spice)
    xvfb = viewer_pid = None
    try:
        xvfb, display = start_xvfb()
        r = vm("up", str(path))
        assert r.returncode == 0, r.stderr

        assert vm("viewer", "g", "--print").stdout == f"spice://127.0.0.1:{port}\n"

        # No viewer on PATH (only `ip`, to enter the namespace): the URI and the install hint, exit 1.
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "ip").symlink_to(shutil.which("ip"))
        bare = {**vm.env, "PATH": str(tmp_path / "bin")}
        r = vm.netns.run(vmrun_bin(), "viewer", "g", env=bare)
        assert r.returncode == 1
        assert r.stdout == f"spice://127.0.0.1:{port}\n" and "apt install virt-viewer" in r.stderr

        env = {**vm.env, "DISPLAY": f":{display}"}
        r = vm.netns.run(vmrun_bin(), "viewer", "g", "--json", env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        opened = json.loads(r.stdout)
        viewer_pid = opened["pid"]
        assert opened["uri"] == f"spice://127.0.0.1:{port}" and opened["viewer"].endswith("remote-viewer")
        # The password reached it through the file only, and the file is gone once read.
        cmdline = Path(f"/proc/{viewer_pid}/cmdline").read_bytes().split(b"\0")
        assert not any(b"s3cret" in a for a in cmdline)
        run = vm.runtime_dir / "g"
        assert list(run.glob("*.vv")) == []

        deadline = time.monotonic() + 60
        while not spice_connections(vm.netns, port) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert spice_connections(vm.netns, port), (run / "viewer.log").read_text()

        # Past the password too: QEMU lists the viewer's display channel only once it has logged in.
        while time.monotonic() < deadline:
            spice = json.loads(vm("qmp", "g", "query-spice").stdout)
            if any(c.get("channel-type") == 2 for c in spice.get("channels", [])):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no display channel logged in: {spice}")

        colours = 1
        while colours <= 1 and time.monotonic() < deadline:
            time.sleep(1)
            colours = screen_colours(display)
        assert colours > 1, "the Xvfb screen stayed blank"
    finally:
        if viewer_pid is not None:
            try:
                os.kill(viewer_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        vm("down", "g", "--force")
        stop(xvfb)


def test_vv_file(tmp_path):
    from vmrun.viewer import Display, write_vv

    d = Display("web", "127.0.0.1", 5930, " pass\\word")
    vv = write_vv(tmp_path, d)
    assert stat.S_IMODE(vv.stat().st_mode) == 0o600
    assert vv.read_text().splitlines() == [
        "[virt-viewer]",
        "type=spice",
        "host=127.0.0.1",
        "port=5930",
        "password=\\spass\\\\word",
        "title=web (vmrun)",
        "delete-this-file=1",
    ]


def test_libvirt_display_from_domain_xml():
    from vmrun.display import display_from_xml
    from vmrun.errors import StateError

    xml = "<domain><devices><graphics type='spice' port='5901' listen='{}' passwd='pw'/></devices></domain>"
    d = display_from_xml("web", xml.format("0.0.0.0"), "local")
    assert (d.uri, d.password) == ("spice://127.0.0.1:5901", "pw")
    assert display_from_xml("web", xml.format("0.0.0.0"), "lab1").uri == "spice://lab1:5901"
    with pytest.raises(StateError, match="loopback"):
        display_from_xml("web", xml.format("127.0.0.1"), "lab1")
    with pytest.raises(StateError, match="no SPICE display"):
        display_from_xml("web", "<domain><devices/></domain>", "local")


def test_viewer_of_a_libvirt_domain(tmp_path):
    """Under the libvirt engine the address and password come from the live domain's <graphics> (virsh domdisplay)."""
    from tests.libvirt_hosts import LibvirtHost
    from vmrun.engines.libvirt.vm import LibvirtVm

    path = tmp_path / "lv.toml"
    path.write_text('name = "lv"\naccel = "tcg"\nmemory = "128M"\n[spice]\nport = 5931\npassword = "pw-1"\n')
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ip").symlink_to(shutil.which("ip"))
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(tmp_path / "run")}
    env.pop("VMRUN_CONNECT", None)
    with LibvirtHost("V") as host:
        # SPICE resolves its listen address with AI_ADDRCONFIG, which fails where only loopback has an address.
        host.netns.ip("link", "add", "br0", "type", "bridge")
        host.netns.ip("addr", "add", "192.168.99.1/24", "dev", "br0")
        host.netns.ip("link", "set", "br0", "up")
        r = host.netns.run(vmrun_bin(), "up", str(path), "-c", host.uri, env=env)
        assert r.returncode == 0, r.stderr
        try:
            r = host.netns.run(vmrun_bin(), "viewer", "lv", "-c", host.uri, "--print", env=env)
            assert r.stdout == "spice://127.0.0.1:5931\n", r.stderr
            assert LibvirtVm(host.uri, "lv").display().password == "pw-1"
            r = host.netns.run(
                vmrun_bin(), "viewer", "lv", "-c", host.uri, "--json", env={**env, "PATH": str(tmp_path / "bin")}
            )
            assert r.returncode == 1 and json.loads(r.stdout)["uri"] == "spice://127.0.0.1:5931"
            assert "apt install virt-viewer" in r.stderr
        finally:
            host.netns.run(vmrun_bin(), "down", "lv", "-c", host.uri, "--force", env=env)
        assert host.conn.listAllDomains(0) == []
