"""Shell completion through Typer's own protocol (``_VMRUN_COMPLETE``, ``COMP_WORDS``, ``COMP_CWORD``) and real bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import vmrun_bin


@pytest.fixture
def world(tmp_path: Path) -> dict[str, str]:
    """Two profile folders (./profiles and $VMRUN_PROFILE_PATH) and a runtime folder with two VMs' run folders."""
    (tmp_path / "profiles").mkdir()
    for name in ("alpha", "beta"):
        (tmp_path / "profiles" / f"{name}.toml").write_text(f'name = "{name}"\n')
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "gamma.toml").write_text('name = "gamma"\n')
    (tmp_path / "more" / "notes.txt").write_text("not a profile\n")
    run = tmp_path / "run"
    for name in ("web1", "web2", "db"):
        (run / name).mkdir(parents=True, mode=0o700)
    run.chmod(0o700)
    (run / ".web1.lock").write_text("")  # a lock file is not a VM
    return {
        **os.environ,
        "VMRUN_RUNTIME_DIR": str(run),
        "VMRUN_PROFILE_PATH": str(tmp_path / "more"),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "PWD": str(tmp_path),
    }


def complete(env: dict[str, str], line: str) -> list[str]:
    """What Typer answers bash for ``line`` (the cursor at its end), through the protocol bash's function uses."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    r = subprocess.run(
        [vmrun_bin()],
        env={**env, "_VMRUN_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)},
        cwd=env["PWD"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_commands_and_options(world):
    assert {"up", "down", "ps", "viewer", "unit", "nic"} <= set(complete(world, "vmrun "))
    assert complete(world, "vmrun do") == ["down", "doctor"]
    assert complete(world, "vmrun up --mem") == ["--memory"]
    assert "--timeout" in complete(world, "vmrun down web1 --")


def test_profile_names_from_the_profile_path(world):
    assert complete(world, "vmrun up ") == ["alpha", "beta", "gamma"]
    assert complete(world, "vmrun show g") == ["gamma"]
    assert complete(world, "vmrun up ./profiles/a") == ["./profiles/alpha.toml"]


def test_running_vm_names_from_the_runtime_folder(world):
    assert complete(world, "vmrun down ") == ["db", "web1", "web2"]
    assert complete(world, "vmrun console we") == ["web1", "web2"]
    assert complete(world, "vmrun nic list d") == ["db"]


def test_an_unusable_runtime_folder_offers_nothing(world, tmp_path):
    (tmp_path / "run").chmod(0o777)  # writable by others: vmrun will not use it, and completion says nothing
    try:
        assert complete(world, "vmrun down ") == []
    finally:
        (tmp_path / "run").chmod(0o700)


def test_real_bash_with_the_script_vmrun_shows(world):
    script = subprocess.run(
        [vmrun_bin(), "--show-completion", "bash"], env=world, capture_output=True, text=True
    ).stdout
    assert "_VMRUN_COMPLETE=complete_bash" in script
    bin_dir = os.path.dirname(vmrun_bin())
    probe = (
        script
        + '\nCOMP_WORDS=(vmrun down w); COMP_CWORD=2; _vmrun_completion vmrun; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    r = subprocess.run(
        ["bash", "--norc", "-c", probe],
        env={**world, "PATH": f"{bin_dir}:{world['PATH']}"},
        cwd=world["PWD"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.stdout.split() == ["web1", "web2"], r.stderr


def test_help_does_not_import_the_completion_code():
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "vmrun", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines()}
    assert "vmrun.complete" not in imported and "vmrun.profile.load" not in imported and "vmrun.rundir" not in imported
