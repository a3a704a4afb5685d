"""A VM's data folder (NVRAM, TPM state): made private on first use, never someone else's."""

from __future__ import annotations

import os
import stat

import pytest

from vmrun import datadir
from vmrun.errors import StateError


def test_made_private_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("VMRUN_DATA_DIR", str(tmp_path / "data"))
    path = datadir.for_vm("web")
    assert path == tmp_path / "data" / "web" and stat.S_IMODE(path.stat().st_mode) == 0o700
    assert datadir.for_vm("web") == path  # kept, not made again


def test_not_created_when_only_looked_up(tmp_path, monkeypatch):
    monkeypatch.setenv("VMRUN_DATA_DIR", str(tmp_path / "data"))
    assert not datadir.for_vm("web", create=False).exists()


@pytest.mark.parametrize("name", ["../victim", "a/b", ".."])
def test_a_name_is_never_a_path(tmp_path, monkeypatch, name):
    monkeypatch.setenv("VMRUN_DATA_DIR", str(tmp_path))
    with pytest.raises(StateError):
        datadir.for_vm(name)


def test_a_folder_others_can_write_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    os.chmod(root, 0o777)
    monkeypatch.setenv("VMRUN_DATA_DIR", str(root))
    with pytest.raises(StateError, match="can be written by others"):
        datadir.for_vm("web")
    os.chmod(root, 0o700)
    (root / "web").mkdir(mode=0o777)
    os.chmod(root / "web", 0o777)
    with pytest.raises(StateError, match="its data folder .* can be written by others"):
        datadir.for_vm("web")


def test_roots_default_mirrors_its_runtime_folder(monkeypatch):
    monkeypatch.delenv("VMRUN_DATA_DIR")
    if os.geteuid() == 0:
        assert str(datadir.data_root()) == "/var/lib/vmrun"
    else:
        monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg-data")
        assert str(datadir.data_root()) == "/tmp/xdg-data/vmrun"
