"""The demo guest end to end: `vmrun up demo --wait`, HTTP through the forward, ps, down."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REPO, vmrun_bin

pytestmark = [pytest.mark.root, pytest.mark.guest]


def test_demo_up_wait_http_ps_down(netns, runtime_dir, test_guest):
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(runtime_dir)}
    vmrun = vmrun_bin()
    guest = [f"--set=kernel={test_guest}/vmlinuz", f"--set=initrd={test_guest}/initrd.img"]
    r = netns.run(vmrun, "up", str(REPO / "profiles" / "demo.toml"), "--wait", "--wait-timeout", "120", *guest, env=env)
    assert r.returncode == 0, r.stderr
    assert "demo is up" in r.stdout and "tcp:127.0.0.1:8080-:80" in r.stdout

    # The guest itself answers, through the forward, from inside the test's namespace.
    r = netns.run("curl", "-sS", "--max-time", "20", "http://127.0.0.1:8080/cgi-bin/ip")
    assert r.returncode == 0, r.stderr
    assert "inet 10.0.2.15/24" in r.stdout

    [entry] = json.loads(netns.run(vmrun, "ps", "--json", env=env).stdout)
    assert entry["name"] == "demo" and entry["status"] == "running"
    assert entry["forwards"] == [{"nic": "net0", "rule": "tcp:127.0.0.1:8080-:80"}]
    pid = entry["pid"]

    assert "vmrun-guest: ready" in netns.run(vmrun, "log", "demo", env=env).stdout

    r = netns.run(vmrun, "down", "demo", "--timeout", "60", env=env)
    assert r.returncode == 0, r.stderr
    assert "demo: powered off" in r.stdout
    assert not os.path.exists(f"/proc/{pid}/cmdline") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
    assert not (runtime_dir / "demo").exists()
    assert netns.pids() == []


def test_console_reaches_the_guest_shell(vm, write_profile, test_guest):
    import select
    import subprocess
    import time

    from tests.conftest import guest_profile, vmrun_bin

    path = guest_profile(write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n')
    assert vm("up", str(path), "--wait", "--wait-timeout", "120").returncode == 0
    try:
        p = vm.netns.popen(
            vmrun_bin(),
            "console",
            "g",
            env=vm.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        p.stdin.write(b"\necho vmrun-$((40+2))\n")
        p.stdin.flush()
        seen, deadline = b"", time.monotonic() + 30
        while b"vmrun-42" not in seen and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 1)[0]:
                seen += p.stdout.read1(4096)
        p.stdin.write(b"\x1d")  # Ctrl-] detaches
        p.stdin.flush()
        _, err = p.communicate(timeout=10)
        assert b"vmrun-42" in seen, seen[-500:]
        assert p.returncode == 0 and b"detached" in err
    finally:
        vm("down", "g", "--force")


def test_foreground_ctrl_c_powers_the_guest_off(vm, write_profile, test_guest):
    import signal
    import subprocess

    from tests.conftest import guest_profile, vmrun_bin

    path = guest_profile(write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n')
    p = vm.netns.popen(
        vmrun_bin(),
        "up",
        str(path),
        "--foreground",
        "--wait",
        "--wait-timeout",
        "120",
        env=vm.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The moment: vmrun says its --wait is over (a Ctrl-C before it aborts the up instead).
    said = ""
    while "done after" not in said and p.poll() is None:
        said = p.stderr.readline()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=90)
    assert p.returncode == 0, err
    assert "g: powered off" in out
    assert not (vm.runtime_dir / "g").exists()
