"""`up`/`ps`/`down` against a real QEMU (no guest OS needed), inside a fresh namespace."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time

import pytest

from tests.conftest import vmrun_bin

pytestmark = pytest.mark.root


def qemu_pids(netns) -> list[int]:
    return [p for p in netns.pids() if "qemu" in open(f"/proc/{p}/comm").read()]


BARE = 'name = "bare"\naccel = "tcg"\nmemory = "64M"\n[[nics]]\nid = "net0"\nhostfwd = ["tcp::2222-:22"]\n'


def test_up_ps_down_leaves_nothing(vm, write_profile):
    path = write_profile(BARE)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert "bare is up: pid" in r.stdout and "tcp:127.0.0.1:2222-:22" in r.stdout
    run_dir = vm.runtime_dir / "bare"
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((run_dir / "qmp.sock").stat().st_mode) == 0o600
    [pid] = qemu_pids(vm.netns)
    assert vm.netns.pids() == [pid]  # no vmrun process stays resident: QEMU alone

    r = vm("ps", "--json")
    [entry] = json.loads(r.stdout)
    assert entry["name"] == "bare" and entry["pid"] == pid and entry["status"] in ("running", "paused")
    assert entry["forwards"] == [{"nic": "net0", "rule": "tcp:127.0.0.1:2222-:22"}]
    assert entry["nics"][0]["type"] == "user"

    r = vm("up", str(path))
    assert r.returncode == 2 and f"bare: already running (pid {pid})" in r.stderr

    r = vm("qmp", "bare", "query-status")
    assert r.returncode == 0 and json.loads(r.stdout)["running"] is True

    # No guest OS answers ACPI here, so this also walks the quit fallback.
    r = vm("down", "bare", "--timeout", "1")
    assert r.returncode == 0, r.stderr
    assert qemu_pids(vm.netns) == []
    assert not run_dir.exists()
    assert vm("ps").stdout.strip() == "no VMs"


def test_qemu_refusing_an_option_leaves_nothing(vm, write_profile):
    path = write_profile('name = "bad"\naccel = "tcg"\nextra_args = ["-no-such-option"]\n')
    r = vm("up", str(path))
    assert r.returncode == 1
    assert "QEMU exited with status 1" in r.stderr and "-no-such-option" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (vm.runtime_dir / "bad").exists()
    assert qemu_pids(vm.netns) == []


def test_what_qemu_said_is_in_json_errors_and_under_debug(vm, write_profile):
    """An error's details (QEMU's argv, exit code and output) are in --json errors and shown by --debug."""
    path = write_profile('name = "bad"\naccel = "tcg"\nextra_args = ["-no-such-option"]\n')
    r = vm("up", str(path), "--json")
    error = json.loads(r.stdout)
    assert r.returncode == 1 and error["exit"] == 1, r.stdout
    assert "-no-such-option" in error["details"]["argv"] and error["details"]["qemu_exit_code"] == 1
    assert "-no-such-option" in error["details"]["qemu_output"]
    r = vm("--debug", "up", str(path))
    assert "vmrun: argv: " in r.stderr and "vmrun: qemu_output: " in r.stderr and "LaunchError" in r.stderr


def test_dead_qemu_shows_dead_and_down_cleans_up(vm, write_profile):
    path = write_profile(BARE)
    assert vm("up", str(path)).returncode == 0
    [pid] = qemu_pids(vm.netns)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert entry["status"] == "dead"
    r = vm("down", "bare")
    assert r.returncode == 0 and "was not running" in r.stdout
    assert not (vm.runtime_dir / "bare").exists()


def test_up_after_a_crash_reclaims_the_stale_run_folder(vm, write_profile):
    path = write_profile(BARE)
    assert vm("up", str(path)).returncode == 0
    [pid] = qemu_pids(vm.netns)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert vm("down", "bare", "--force").returncode == 0


def test_sigterm_during_wait_undoes_the_up(vm, write_profile):
    # Nothing in the guest answers port 22 (no OS), so --wait waits until interrupted.
    path = write_profile(BARE)
    p = vm.netns.popen(
        vmrun_bin(), "up", str(path), "--wait", env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    state = vm.runtime_dir / "bare" / "state.json"
    deadline = time.monotonic() + 30
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "interrupted" in err
    assert qemu_pids(vm.netns) == []
    assert not (vm.runtime_dir / "bare").exists()


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['vmrun', '--help']\n"
        "try:\n    runpy.run_module('vmrun', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('pyroute2', 'libvirt', 'qemu.qmp', 'asyncio') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    r = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in r.stderr, r.stderr
