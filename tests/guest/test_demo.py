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
