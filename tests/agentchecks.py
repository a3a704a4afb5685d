"""What `vmrun exec`, `cp`, `ip`, `ssh` and `ssh-config` must do on a booted test guest, whichever engine
runs it: one function, run once per engine on one guest (tests/guest/test_agent.py,
tests/root/test_libvirt_agent.py). The guest has a user NIC without a forward to port 22 and a NIC on a
bridge whose LAN this host reaches; its qemu-ga and dropbear come from scripts/build-test-guest.sh."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

Vmrun = Callable[..., subprocess.CompletedProcess]


def wait_for_agent(vmrun: Vmrun, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        r = vmrun("exec", name, "--", "true")
        if r.returncode == 0:
            return
        assert time.monotonic() < deadline, f"no guest agent after {timeout} s: {r.stderr}"
        time.sleep(1)


def check_inside(vmrun: Vmrun, netns, name: str, mac: str, address: str, tmp: Path) -> None:
    wait_for_agent(vmrun, name)

    # exec: the guest's output on our stdout and stderr, its status as ours; 127 for a missing program
    r = vmrun("exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = vmrun("exec", name, "--", "no-such-program")
    assert r.returncode == 127 and "No such file or directory" in r.stderr

    # ip: the bridged NIC's address, from the agent, matched by MAC
    r = vmrun("ip", name, "--json")
    assert r.returncode == 0, r.stderr
    bridged = next(n for n in json.loads(r.stdout) if n["mac"] == mac)
    assert {"address": address, "prefix": 24, "source": "agent"} in bridged["addresses"]

    # cp both ways, a file over 1 MiB
    big = tmp / "big.bin"
    big.write_bytes(os.urandom(1536 * 1024))
    r = vmrun("cp", str(big), f"{name}:/tmp/big.bin")
    assert r.returncode == 0, r.stderr
    r = vmrun("exec", name, "--", "wc", "-c", "/tmp/big.bin")
    assert r.stdout.split()[0] == str(big.stat().st_size)
    back = tmp / "back.bin"
    r = vmrun("cp", f"{name}:/tmp/big.bin", str(back))
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == big.read_bytes()
    r = vmrun("cp", f"{name}:/no/such/file", str(tmp / "x"))
    assert r.returncode == 1 and r.stderr.startswith(
        f"vmrun: error: {name}:/no/such/file: No such file or directory"
    ), r
    assert not (tmp / "x").exists()

    # ssh by name, with only the key vmrun made and put in through the agent (no forward to 22 here)
    r = vmrun("ssh", name, "--", "echo", "ok")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    r = vmrun("ssh-config", name)
    assert r.returncode == 0, r.stderr
    config = tmp / "ssh_config"
    config.write_text(r.stdout)
    assert f"HostName {address}" in r.stdout and f"HostKeyAlias vmrun-{name}" in r.stdout
    r = netns.run("ssh", "-o", "BatchMode=yes", "-F", str(config), name, "true", stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr

    # the agent gone (for a few seconds): one clear line within seconds, and vmrun's own exit status
    # (qemu-ga reports the sh as exited only once the pipes it holds close: this exec ends when the agent dies)
    vmrun("exec", name, "--", "sh", "-c", f"({RESTART_AGENT}) >/dev/null 2>&1 &")
    for _ in range(5):
        started = time.monotonic()
        r = vmrun("exec", name, "--", "true")
        if r.returncode != 0:
            break
        time.sleep(0.5)  # not killed yet
    assert r.returncode == 125, r
    assert f"vmrun: error: {name}: no guest agent answers in 3 s" in r.stderr
    assert time.monotonic() - started < 10
    # ... and `ip` falls back on what the host knows: its neighbour table (ssh talked to the guest above)
    r = vmrun("ip", name, "--json")
    assert r.returncode == 0 and "no guest agent answers in 3 s; addresses from what the host knows" in r.stderr, r
    bridged = next(n for n in json.loads(r.stdout) if n["mac"] == mac)
    assert [a["source"].split(" (")[0] for a in bridged["addresses"] if a["address"] == address] == [
        "neighbour table"
    ], r

    # ACPI ignored (acpid gone): `down` has the agent power the guest off, before quitting QEMU
    wait_for_agent(vmrun, name)
    vmrun("exec", name, "--", "sh", "-c", "kill $(cat /run/acpid.pid)")
    r = vmrun("down", name, "--timeout", "4")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{name}: ignored ACPI; powered off by its guest agent"), r.stdout


RESTART_AGENT = (
    "kill $(cat /run/qemu-ga.pid); sleep 20; "
    "qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -f /run/qemu-ga.pid -t /run"
)
