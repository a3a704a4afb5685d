"""[tpm] on the QEMU engine: the key, the argv part (pure), swtpm's command line and its host record."""

from __future__ import annotations

import pytest

from vmrun.argv import build_argv
from vmrun.devices import tpm
from vmrun.errors import ProfileError
from vmrun.net import hostobj
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, Tpm, TpmVersion
from vmrun.show import describe, option_lines

SOCK = "/run/vmrun/w,1/swtpm.sock"


def profile(write_profile, machine: str, tpm_table: str):
    return load_profile(str(write_profile(f'name = "w"\naccel = "tcg"\nmachine = "{machine}"\n{tpm_table}\n', "w")))


def tpm_lines(argv: list[str]) -> list[list[str]]:
    lines = option_lines(argv)
    start = next(i for i, line in enumerate(lines) if line[0] == "-chardev" and "id=vmrun-tpm" in line[1])
    return lines[start : start + 3]


@pytest.mark.parametrize(
    ("machine", "table", "device"),
    [
        ("q35", "[tpm]", "tpm-crb"),
        ("pc", "[tpm]", "tpm-tis"),
        ("pc-q35-7.2,smm=on", '[tpm]\nversion = "2.0"', "tpm-crb"),
        ("q35", '[tpm]\nversion = "1.2"', "tpm-tis"),  # CRB is a TPM 2.0 interface
    ],
)
def test_argv_part_per_machine_and_version(write_profile, machine, table, device):
    p = profile(write_profile, machine, table)
    argv = build_argv(p, {}, qemu="qemu", accel=Accel.TCG, tpm_socket=SOCK)
    assert tpm_lines(argv) == [
        ["-chardev", "socket,id=vmrun-tpm,path=/run/vmrun/w,,1/swtpm.sock"],  # the comma doubled
        ["-tpmdev", "emulator,id=vmrun-tpm,chardev=vmrun-tpm"],
        ["-device", f"{device},tpmdev=vmrun-tpm"],
    ]


def test_no_tpm_no_argv_and_a_tpm_needs_its_socket(write_profile):
    plain = load_profile(str(write_profile('name = "w"\naccel = "tcg"\n', "w")))
    assert plain.tpm is None
    assert not any("tpm" in a for a in build_argv(plain, {}, qemu="qemu", accel=Accel.TCG))
    with pytest.raises(ValueError):
        build_argv(profile(write_profile, "q35", "[tpm]"), {}, qemu="qemu", accel=Accel.TCG)


def test_key_default_and_refusals(write_profile):
    assert profile(write_profile, "q35", "[tpm]").tpm == Tpm(TpmVersion.V2)
    assert profile(write_profile, "q35", '[tpm]\nversion = "1.2"').tpm == Tpm(TpmVersion.V1)
    with pytest.raises(ProfileError, match=r"tpm\.version: '3' is not one of 2\.0 \| 1\.2"):
        profile(write_profile, "q35", '[tpm]\nversion = "3"')
    with pytest.raises(ProfileError, match=r"tpm\.version"):
        profile(write_profile, "q35", "[tpm]\nversion = 2.0")  # a TOML float, not the version string
    with pytest.raises(ProfileError, match="model"):
        profile(write_profile, "q35", '[tpm]\nmodel = "crb"')


def test_show_names_the_socket_in_the_run_folder(write_profile, runtime_dir):
    argv = describe(profile(write_profile, "q35", "[tpm]"))["argv"]
    assert f"socket,id=vmrun-tpm,path={runtime_dir}/w/swtpm.sock" in argv


def test_swtpm_argv(tmp_path):
    state, ctrl, log = tmp_path / "data" / "tpm", tmp_path / "run" / "swtpm.sock", tmp_path / "run" / "swtpm.log"
    assert tpm.swtpm_argv("/usr/bin/swtpm", Tpm(TpmVersion.V2), state, ctrl, log) == [
        "/usr/bin/swtpm",
        "socket",
        "--tpm2",
        "--tpmstate",
        f"dir={state}",
        "--ctrl",
        f"type=unixio,path={ctrl}",
        "--log",
        f"file={log},level=1",
    ]
    assert "--tpm2" not in tpm.swtpm_argv("swtpm", Tpm(TpmVersion.V1), state, ctrl, log)


def test_swtpm_record_before_and_after_its_pid_is_known(tmp_path):
    ctrl = str(tmp_path / "swtpm.sock")
    pending, started = hostobj.Swtpm(ctrl), hostobj.Swtpm(ctrl, 1234, 5678)
    assert pending == started  # the same record: `replace` and a failed up's undo find one by the other
    assert hostobj.to_json(pending) == {"kind": "swtpm", "ctrl": ctrl}
    assert hostobj.to_json(started) == {"kind": "swtpm", "ctrl": ctrl, "pid": 1234, "start": 5678}
    read = hostobj.from_json(hostobj.to_json(started))
    assert isinstance(read, hostobj.Swtpm) and (read.pid, read.start) == (1234, 5678)
    assert hostobj.from_json({"kind": "swtpm", "pid": 1}) == "swtpm record without ctrl"
    assert "pid is 'x'" in hostobj.from_json({"kind": "swtpm", "ctrl": ctrl, "pid": "x"})
    assert hostobj.from_json({"kind": "process", "pid": None, "start": None, "what": "passt"}) == (
        "process record without a pid"
    )


def test_swtpm_record_of_another_folder_is_left_alone(tmp_path, monkeypatch):
    killed = []
    monkeypatch.setattr(hostobj, "_stop", lambda pid, start: killed.append(pid))
    hostobj.Swtpm("/elsewhere/swtpm.sock").release(tmp_path)
    hostobj.Swtpm(str(tmp_path / "swtpm.sock"), 2**22 + 7, 1).release(tmp_path)  # no such process
    assert killed == []


def test_preflight_says_swtpm_is_missing(write_profile, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ProfileError, match="swtpm is not installed") as e:
        tpm.preflight(profile(write_profile, "q35", "[tpm]"))
    assert "apt-get install swtpm" in (e.value.hint or "")
