"""Memory, vCPUs and the real QEMU command line of a running VM: `ps`, `ps --json`, `show --running`, `profiles`."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import guest_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]


def test_ps_and_show_running_say_what_was_started(vm, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n')  # memory = "256M"
    vm.env["VMRUN_PROFILE_PATH"] = str(path.parent)
    r = vm("up", "g", "--memory", "300M", "--smp", "2")
    assert r.returncode == 0, r.stderr
    try:
        [entry] = json.loads(vm("ps", "--json").stdout)
        assert (entry["memory_mib"], entry["smp"]) == (300, 2)
        argv = entry["argv"]
        # What QEMU really runs with: its own /proc/PID/cmdline, not the profile's 256M.
        assert Path(f"/proc/{entry['pid']}/cmdline").read_bytes().split(b"\0")[:-1] == [a.encode() for a in argv]
        assert argv[argv.index("-m") + 1] == "300M" and argv[argv.index("-smp") + 1] == "2"

        header, row = vm("ps").stdout.splitlines()
        columns = dict(zip(header.split(), row.split()))
        assert (columns["MEM"], columns["CPUS"]) == ("300M", "2")

        shown = vm("show", "g", "--running")
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"^\s*-m 300M \\$", shown.stdout, re.M) and "-smp 2 " in shown.stdout
        assert "-m 256M" in vm("show", "g").stdout  # the profile itself is unchanged
        script = shown.stdout.split("exec ", 1)[1].replace("\\\n", " ")
        assert shlex.split(script) == argv
        assert json.loads(vm("show", "g", "--running", "--json").stdout)["argv"] == argv

        [listed] = [p for p in json.loads(vm("profiles", "--json").stdout) if p["file"] == str(path)]
        assert (listed["state"], listed["pid"]) == ("running", entry["pid"])
    finally:
        assert vm("down", "g", "--force").returncode == 0
