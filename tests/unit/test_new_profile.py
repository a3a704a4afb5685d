"""`vmrun new`, `profiles`, `edit`, `clone` and `--version`, run as a user would: the installed `vmrun`, a private
config and runtime folder, an $EDITOR that is a small script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO, vmrun_bin
from vmrun.profile import template
from vmrun.profile.load import parse_profile


@pytest.fixture
def user(tmp_path: Path):
    """``user("new", "web")``: vmrun with its own XDG_CONFIG_HOME, runtime folder, TMPDIR and working folder."""
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "VMRUN_RUNTIME_DIR": str(tmp_path / "run"),
        "TMPDIR": str(home / "tmp"),
    }
    for var in ("VISUAL", "EDITOR", "VMRUN_PROFILE_PATH"):
        env.pop(var, None)

    def run(*args: str, editor: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"EDITOR": editor} if editor else {}
        return subprocess.run(
            [vmrun_bin(), *args],
            capture_output=True,
            text=True,
            cwd=home,
            env={**env, **extra},
            stdin=subprocess.DEVNULL,
            timeout=60,
        )

    run.profiles = home / "config" / "vmrun" / "profiles"
    run.tmp = home / "tmp"
    run.home = home
    return run


def editor(tmp_path: Path, body: str) -> str:
    """An $EDITOR: a Python script given the file to edit as its last argument."""
    script = tmp_path / f"editor{len(list(tmp_path.glob('editor*')))}.py"
    script.write_text(
        f"import sys\npath = sys.argv[-1]\ntext = open(path).read()\n{body}\nopen(path, 'w').write(text)\n"
    )
    return f"{sys.executable} {script}"  # two words: split with shlex, never given to a shell


def test_template_loads_and_boots_nothing_that_reaches_out():
    text = template.render("web")
    profile = parse_profile(tomllib.loads(text), "/x/web.toml", default_name="web")
    assert profile.name == "web" and profile.kernel is None and profile.drives == () and profile.cdrom is None
    [nic] = profile.nics
    assert nic.type.value == "user" and [str(f) for f in nic.hostfwd] == ["tcp:127.0.0.1:2222-:22"]
    assert "# [[drives]]" in text and "# cdrom = " in text  # offered, commented out


def test_new_writes_where_up_finds_it_and_never_overwrites(user):
    r = user("new", "web")
    path = user.profiles / "web.toml"
    assert r.returncode == 0 and r.stdout.strip().startswith(f"wrote {path}")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert user("show", "web").returncode == 0  # found by name, loads
    before = path.read_text()
    r = user("new", "web")
    assert r.returncode == 2 and "already exists" in r.stderr and path.read_text() == before
    assert user("new", "../evil").returncode == 2 and not (user.profiles.parent / "evil.toml").exists()
    r = user("doctor", "web", "--json")  # nothing to boot yet: doctor says so, with the fix
    boot = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "boot")
    assert r.returncode == 1 and boot["status"] == "fail" and "[[drives]]" in boot["fix"]


def test_profiles_lists_path_order_state_and_errors(user, tmp_path):
    user("new", "web")
    local = user.home / "profiles"  # ./profiles comes first on the path
    local.mkdir()
    (local / "web.toml").write_text('name = "web"\n')
    (local / "broken.toml").write_text('memory = "lots"\n')
    run = tmp_path / "run" / "web"  # a VM whose QEMU is gone: a run folder naming a dead pid
    run.mkdir(parents=True, mode=0o700)
    os.chmod(run.parent, 0o700)
    (run / "state.json").write_text(
        json.dumps(
            {
                "schema": 2,
                "name": "web",
                "profile": "x",
                "accel": "tcg",
                "argv": [],
                "started": 1.0,
                "phase": "running",
                "pid": 4194303,
            }
        )
    )
    r = user("profiles", "--json")
    assert r.returncode == 0, r.stderr
    found = {(p["name"], p["file"]): p for p in json.loads(r.stdout)}
    first, second = found["web", str(local / "web.toml")], found["web", str(user.profiles / "web.toml")]
    assert first["state"] == "dead" and first["shadowed_by"] is None
    assert second["shadowed_by"] == str(local / "web.toml")
    assert "memory" in found["broken", str(local / "broken.toml")]["error"]
    text = user("profiles").stdout
    assert re.search(r"^broken .*invalid: .*memory", text, re.M) and "(hidden by" in text


def test_edit_saves_a_valid_change(user, tmp_path):
    user("new", "web")
    r = user("edit", "web", editor=editor(tmp_path, "text = text.replace('memory = \"1G\"', 'memory = \"2G\"')"))
    assert r.returncode == 0 and "saved" in r.stdout, r.stderr
    assert 'memory = "2G"' in (user.profiles / "web.toml").read_text()
    assert list(user.tmp.iterdir()) == []  # the copy is gone


def test_edit_refuses_an_invalid_change_and_names_the_copy(user, tmp_path):
    user("new", "web")
    path = user.profiles / "web.toml"
    before = path.read_text()
    r = user("edit", "web", editor=editor(tmp_path, "text = text.replace('smp = 1', 'smp = 0')"))
    [copy] = list(user.tmp.iterdir())
    assert r.returncode == 2 and path.read_text() == before
    assert f"not saved: {copy}: smp: 0 is out of range" in r.stderr and f"your edit is in {copy}" in r.stderr
    assert "smp = 0" in copy.read_text()


def test_edit_unchanged_and_failed_editor_leave_nothing(user):
    user("new", "web")
    before = (user.profiles / "web.toml").read_text()
    assert "no changes" in user("edit", "web", editor="true").stdout
    r = user("edit", "web", editor="false")
    assert r.returncode == 2 and "exited with status 1" in r.stderr
    assert list(user.tmp.iterdir()) == [] and (user.profiles / "web.toml").read_text() == before


def test_clone_new_name_new_macs_shared_disks_never_overwrites(user, tmp_path):
    folder = user.home / "profiles"
    folder.mkdir()
    (folder / "a.toml").write_text(
        '# my VM\nname = "a"\nmemory = "512M"\n'
        '[[drives]]\nfile = "a.qcow2"  # the disk\n'
        '[[nics]]\nid = "lan"\ntype = "bridge"\nbridge = "br0"\nmac = "52:54:00:aa:bb:cc"\n'
        '[[nics]]\nid = "up"\nhostfwd = ["tcp::2222-:22"]\n'
    )
    r = user("clone", "a", "b", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    text = (folder / "b.toml").read_text()
    b = parse_profile(tomllib.loads(text), str(folder / "b.toml"), default_name="b")
    a = parse_profile(tomllib.loads((folder / "a.toml").read_text()), str(folder / "a.toml"), default_name="a")
    assert b.name == "b" and "# my VM" in text and "# the disk" in text  # comments kept
    assert out["macs"] == {"lan": b.nics[0].mac} and re.fullmatch(r"52:54:00(:[0-9a-f]{2}){3}", b.nics[0].mac)
    assert b.nics[0].mac != a.nics[0].mac and b.nics[1].mac != a.nics[1].mac  # the unwritten one: from the new name
    assert b.drives[0].file == a.drives[0].file == str(folder / "a.qcow2")
    assert "uses the same disks" in r.stderr and "same host ports" in r.stderr
    before = text
    assert user("clone", "a", "b").returncode == 2 and (folder / "b.toml").read_text() == before
    assert user("clone", "nosuch", "c").returncode == 2 and not (folder / "c.toml").exists()


def test_version_from_package_metadata(user):
    from importlib.metadata import version

    r = user("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"vmrun {version('vmrun')}"


def test_help_profile_is_the_reference(user):
    from vmrun.profile.reference import render

    r = user("help", "profile")
    assert r.returncode == 0 and r.stdout == render()
    keys = json.loads(user("help", "profile", "--json").stdout)
    assert {"section": "nics.ovs", "key": "vlan"}.items() <= next(k for k in keys if k["key"] == "vlan").items()


def test_readme_shows_commands():
    readme = (REPO / "README.md").read_text()
    for line in ("vmrun new ", "vmrun profiles", "vmrun edit ", "vmrun clone ", "vmrun help profile", "--running"):
        assert line in readme, line


def test_edit_on_a_terminal_offers_to_edit_again(user, tmp_path):
    """An error on a terminal: the one-line error, "edit again?", and the second edit is saved."""
    import pty
    import select
    import time

    user("new", "web")
    count = tmp_path / "count"
    fix = editor(
        tmp_path,
        f"""
import pathlib
c = pathlib.Path({str(count)!r})
n = int(c.read_text()) if c.exists() else 0
c.write_text(str(n + 1))
text = text.replace('smp = 1', 'smp = 0') if n == 0 else text.replace('smp = 0', 'smp = 2')""",
    )
    main, secondary = pty.openpty()
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(user.home / "config"),
        "TMPDIR": str(user.tmp),
        "EDITOR": fix,
        "VMRUN_RUNTIME_DIR": str(tmp_path / "run"),
    }
    env.pop("VISUAL", None)
    p = subprocess.Popen(
        [vmrun_bin(), "edit", "web"], stdin=secondary, stdout=subprocess.PIPE, stderr=secondary, cwd=user.home, env=env
    )
    os.close(secondary)
    seen, deadline = b"", time.monotonic() + 30
    while b"edit again? [Y/n]" not in seen and time.monotonic() < deadline:
        if select.select([main], [], [], 1)[0]:
            seen += os.read(main, 4096)
    assert b"smp: 0 is out of range" in seen
    os.write(main, b"y\n")
    out, _ = p.communicate(timeout=30)
    os.close(main)
    assert p.returncode == 0 and b"saved" in out
    assert "smp = 2" in (user.profiles / "web.toml").read_text() and list(user.tmp.iterdir()) == []
