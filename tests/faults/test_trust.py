"""Root runs a profile another user wrote (issue 21, item 1).

A profile, and every program it has vmrun run (``qemu``, a tap's ``script``/``downscript``,
a bridge's ``helper``), is used only if it and every folder above it belong to the invoking
user or root and no one else can write to them (a root-owned sticky folder such as /tmp is
fine above it). A profile planted in ./profiles of a shared folder neither runs nor hides
root's own profile of that name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import vmrun_bin
from tests.faults.test_ownership import NOBODY, as_nobody, require_venv_usable_by_nobody
from tests.faults.util import one_error

pytestmark = pytest.mark.root


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder like /tmp/shared: root's, mode 1777, where another user (uid 65534) plants things."""
    folder = Path(tempfile.mkdtemp(prefix="vmrun-shared-"))
    os.chmod(folder, 0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "evil-ran"


def evil_program(folder: Path, marker: Path, uid: int = NOBODY) -> Path:
    """A program that, if anyone runs it, leaves ``marker`` behind."""
    path = folder / "evil.sh"
    path.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    os.chmod(path, 0o755)
    os.chown(path, uid, uid)
    return path


def plant(path: Path, text: str, uid: int = NOBODY, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    os.chown(path, uid, uid)
    return path


def run(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([vmrun_bin(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_profile_planted_in_shared_profiles_folder_is_refused(shared, marker, runtime_dir):
    evil = evil_program(shared, marker)
    planted = plant(shared / "profiles" / "web.toml", f'qemu = "{evil}"\n')
    os.chown(planted.parent, NOBODY, NOBODY)
    r = run("up", "web", cwd=shared)
    line = one_error(r.stderr)
    assert r.returncode == 2, r.stderr
    assert "profiles/web.toml" in line and "not trusted" in line, line
    assert f"nobody (uid {NOBODY})" in line, line
    assert "hint: if you trust it, chown" in r.stderr, r.stderr
    assert not marker.exists(), "the planted profile's program ran"


def test_planted_profile_does_not_hide_roots_own(shared, marker, runtime_dir, private_config):
    evil = evil_program(shared, marker)
    planted = plant(shared / "profiles" / "web.toml", f'qemu = "{evil}"\n')
    own = private_config / "vmrun" / "profiles" / "web.toml"
    own.parent.mkdir(parents=True)
    own.write_text('memory = "192M"\n')
    r = run("show", "web", cwd=shared)
    assert r.returncode == 0, r.stderr
    assert "-m 192M" in r.stdout and str(evil) not in r.stdout, r.stdout
    assert f"profiles/web.toml passed over, not trusted (it is owned by nobody (uid {NOBODY})" in r.stderr, r.stderr
    assert f"using {own}" in r.stderr, r.stderr
    listed = run("profiles", "--json", cwd=shared)
    rows = {row["file"]: row for row in json.loads(listed.stdout)}
    assert "not trusted" in rows[str(planted)]["error"], rows


def test_profile_given_as_a_path_is_refused(shared, marker, runtime_dir):
    evil = evil_program(shared, marker)
    planted = plant(shared / "web.toml", f'qemu = "{evil}"\n')
    r = run("up", str(planted), cwd=Path("/"))
    assert r.returncode == 2 and "not trusted" in one_error(r.stderr), r.stderr
    assert not marker.exists()


def test_roots_profile_in_a_folder_others_can_write_is_refused(tmp_path, runtime_dir):
    folder = tmp_path / "open"
    folder.mkdir()
    os.chmod(folder, 0o777)  # not sticky: anyone may replace the file
    profile = plant(folder / "web.toml", 'memory = "192M"\n', uid=0)
    r = run("show", str(profile), cwd=tmp_path)
    line = one_error(r.stderr)
    assert r.returncode == 2, r.stderr
    assert f"not trusted: {folder} is writable by others (mode 777)" in line, line
    assert f"hint: chmod go-w {folder}" in r.stderr, r.stderr


def test_a_writable_profile_is_refused(tmp_path, runtime_dir):
    profile = plant(tmp_path / "web.toml", 'memory = "192M"\n', uid=0, mode=0o666)
    r = run("show", str(profile), cwd=tmp_path)
    assert r.returncode == 2 and "not trusted: it is writable by others (mode 666)" in one_error(r.stderr), r.stderr


def test_a_link_to_someone_elses_file_is_refused(tmp_path, shared, runtime_dir):
    theirs = plant(shared / "theirs.toml", 'memory = "192M"\n')
    link = tmp_path / "web.toml"
    link.symlink_to(theirs)
    r = run("show", str(link), cwd=tmp_path)
    line = one_error(r.stderr)
    assert r.returncode == 2 and f"{theirs} is owned by nobody" in line, line


def test_sticky_root_folder_above_is_fine(shared, runtime_dir):
    own = shared / "mine"
    own.mkdir(mode=0o755)
    profile = plant(own / "web.toml", 'memory = "192M"\n', uid=0)
    r = run("show", str(profile), cwd=shared)
    assert r.returncode == 0 and "-m 192M" in r.stdout, r.stderr


@pytest.mark.parametrize("key", ["qemu", "script", "downscript", "helper"])
def test_a_program_someone_else_owns_is_not_run(tmp_path, shared, marker, runtime_dir, key):
    """A profile of root's naming another user's program: refused before anything starts."""
    evil = evil_program(shared, marker)
    text = {
        "qemu": f'qemu = "{evil}"\n',
        "script": f'[[nics]]\ntype = "tap"\nscript = "{evil}"\n',
        "downscript": f'[[nics]]\ntype = "tap"\nifname = "lo"\ndownscript = "{evil}"\n',
        "helper": f'[[nics]]\ntype = "bridge"\nbridge = "lo"\nvia = "helper"\nhelper = "{evil}"\n',
    }[key]
    profile = plant(tmp_path / "web.toml", text, uid=0)
    r = run("up", str(profile), cwd=tmp_path)
    line = one_error(r.stderr)
    assert r.returncode == 2, r.stderr
    field = "qemu" if key == "qemu" else f"nics[0].{key}"
    assert f"{profile}: {field}: {evil} is not trusted: it is owned by nobody (uid {NOBODY})" in line, line
    assert not marker.exists(), f"{key} ran"


def test_a_program_in_a_folder_others_can_write_is_not_run(tmp_path, marker, runtime_dir):
    folder = tmp_path / "open"
    folder.mkdir()
    os.chmod(folder, 0o777)
    evil = evil_program(folder, marker, uid=0)
    profile = plant(tmp_path / "web.toml", f'qemu = "{evil}"\n', uid=0)
    r = run("up", str(profile), cwd=tmp_path)
    line = one_error(r.stderr)
    assert r.returncode == 2 and f"{evil} is not trusted: {folder} is writable by others" in line, line
    assert not marker.exists()


def test_a_user_trusts_their_own_and_roots_profiles(shared):
    """Not only root is protected: uid 65534 uses its own and root's profiles, not another user's."""
    require_venv_usable_by_nobody()
    mine = plant(shared / "mine.toml", 'memory = "192M"\n')
    roots = plant(shared / "roots.toml", 'memory = "160M"\n', uid=0)
    other = plant(shared / "other.toml", 'memory = "128M"\n', uid=1)
    env = {"XDG_CONFIG_HOME": str(shared / "cfg"), "VMRUN_RUNTIME_DIR": str(shared / "run")}
    assert "-m 192M" in as_nobody("show", str(mine), env=env).stdout
    assert "-m 160M" in as_nobody("show", str(roots), env=env).stdout
    r = as_nobody("show", str(other), env=env)
    assert r.returncode == 2 and "owned by daemon (uid 1)" in one_error(r.stderr), r.stderr
