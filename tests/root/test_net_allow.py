"""`vmrun net allow`: one `allow BRIDGE` line in qemu-bridge-helper's ACL, the file made if missing."""

from __future__ import annotations

import json
import stat

import pytest

pytestmark = pytest.mark.root


def test_allow_creates_the_file_and_is_idempotent(vm, tmp_path):
    conf = tmp_path / "etc" / "qemu" / "bridge.conf"
    r = vm("net", "allow", "jrgbr0", "--conf", str(conf))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{conf}: added allow jrgbr0"
    assert conf.read_text() == "allow jrgbr0\n"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert stat.S_IMODE(conf.parent.stat().st_mode) == 0o755

    r = vm("net", "allow", "jrgbr0", "--conf", str(conf))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{conf} allows jrgbr0 already"
    assert conf.read_text() == "allow jrgbr0\n"

    assert vm("net", "allow", "jrgbr1", "--conf", str(conf)).returncode == 0
    assert conf.read_text() == "allow jrgbr0\nallow jrgbr1\n"
    assert [p.name for p in conf.parent.iterdir()] == ["bridge.conf"]  # no temporary file left


def test_allow_keeps_the_file_as_it_was_around_the_new_line(vm, tmp_path):
    conf = tmp_path / "bridge.conf"
    conf.write_text("# made by hand\nallow virbr0")  # no newline at the end
    conf.chmod(0o640)
    assert vm("net", "allow", "jrgbr0", "--conf", str(conf)).returncode == 0
    assert conf.read_text() == "# made by hand\nallow virbr0\nallow jrgbr0\n"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640

    conf.write_text("allow all\n")
    r = vm("net", "allow", "jrgbr0", "--conf", str(conf))
    assert r.returncode == 0 and "already" in r.stdout
    assert conf.read_text() == "allow all\n"


def test_a_deny_line_is_named_not_worked_around(vm, tmp_path):
    conf = tmp_path / "bridge.conf"
    conf.write_text("allow virbr0\ndeny jrgbr0\n")
    r = vm("net", "allow", "jrgbr0", "--conf", str(conf))
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"vmrun: error: {conf}:2 denies jrgbr0; an allow line would not help",
        f"  hint: remove that line from {conf}",
    ]
    assert conf.read_text() == "allow virbr0\ndeny jrgbr0\n"
    r = vm("net", "allow", "bad/name", "--conf", str(conf))
    assert r.returncode == 2 and r.stderr.startswith("vmrun: error: BRIDGE: 'bad/name' is not a network interface name")


def test_allow_writes_the_helpers_own_acl_and_list_sees_it(vm, netns, bridge_conf):
    """Without --conf: the file compiled into the helper; `net list` then says the helper may use the bridge."""
    netns.ip("link", "add", "jrgbr0", "type", "bridge")

    def verdict() -> dict:
        found = json.loads(vm("net", "list", "--json").stdout)
        assert found["helper"] == "/usr/lib/qemu/qemu-bridge-helper"
        return next(b for b in found["linux_bridges"] if b["name"] == "jrgbr0")["helper"]

    bridge_conf.unlink(missing_ok=True)
    assert verdict() == {"allowed": False, "reason": f"{bridge_conf} does not exist", "fix": "vmrun net allow jrgbr0"}
    r = vm("net", "allow", "jrgbr0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{bridge_conf}: added allow jrgbr0"
    assert stat.S_IMODE(bridge_conf.stat().st_mode) == 0o644
    assert verdict() == {"allowed": True, "reason": f"{bridge_conf} allows jrgbr0"}
