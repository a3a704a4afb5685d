"""`vmrun ssh` and `vmrun ssh-config`: the ssh command and Host blocks built from the running VM's state."""

from __future__ import annotations

import json
import subprocess

import pytest

from vmrun.errors import StateError
from vmrun.ssh import Target, config_block, ssh_argv
from vmrun.sshkeys import identity


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A HOME without keys: vmrun makes its own pair in its data folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def fake_run(runtime_dir, forwards):
    folder = runtime_dir / "s"
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(
        json.dumps({"name": "s", "profile": "/p/s.toml", "pid": 1, "forwards": forwards, "nics": []})
    )


def test_ssh_uses_the_forward_to_port_22_with_vmruns_key_and_known_hosts(runtime_dir, home, tmp_path):
    fake_run(
        runtime_dir, [{"nic": "n", "rule": "tcp:127.0.0.1:8080-:80"}, {"nic": "n", "rule": "tcp:0.0.0.0:2222-:22"}]
    )
    ssh = tmp_path / "data" / "ssh"
    argv = ssh_argv("s", "alice", ["uname", "-a"])
    assert argv[:3] == ["ssh", "-o", "BatchMode=yes"]  # pytest's stdin is no terminal: no prompt to wait at
    assert argv[3:] == [
        *("-o", "Port=2222", "-o", "User=alice"),
        *("-o", f"IdentityFile={ssh / 'id_ed25519'}", "-o", "IdentitiesOnly=yes"),
        *("-o", f"UserKnownHostsFile={ssh / 'known_hosts'}", "-o", "StrictHostKeyChecking=accept-new"),
        *("-o", "HostKeyAlias=vmrun-s"),
        "127.0.0.1",
        "uname",
        "-a",
    ]
    assert (ssh / "id_ed25519.pub").read_text().startswith("ssh-ed25519 ")


def test_the_users_own_key_comes_first(home):
    (home / ".ssh").mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / ".ssh" / "id_ed25519")], check=True)
    assert identity().private == home / ".ssh" / "id_ed25519"


def test_ssh_without_a_forward_or_an_agent_says_so_in_one_line(runtime_dir, home):
    fake_run(runtime_dir, [{"nic": "n", "rule": "tcp:127.0.0.1:8080-:80"}])
    with pytest.raises(StateError, match="no forward to guest port 22, and it has no guest agent port"):
        ssh_argv("s", None, [])


def test_ssh_config_block_is_what_ssh_reads(tmp_path):
    t = Target("demo", "192.0.2.7", 22, "root", tmp_path / "my key", tmp_path / "kh")
    text = config_block(t)
    assert text.splitlines()[0] == "Host demo"
    assert f'    IdentityFile "{tmp_path}/my key"' in text
    assert "    StrictHostKeyChecking accept-new" in text and "    HostKeyAlias vmrun-demo" in text
    (tmp_path / "cfg").write_text(text)
    shown = subprocess.run(["ssh", "-G", "-F", str(tmp_path / "cfg"), "demo"], capture_output=True, text=True)
    options = dict(line.split(" ", 1) for line in shown.stdout.splitlines())
    assert (options["hostname"], options["port"], options["user"]) == ("192.0.2.7", "22", "root")
    assert options["hostkeyalias"] == "vmrun-demo" and options["stricthostkeychecking"] == "accept-new"


def test_a_seed_gets_the_key_vmrun_ssh_uses_once(home, write_profile):
    from vmrun.profile import load_profile
    from vmrun.sshkeys import with_ssh_key

    profile = load_profile(str(write_profile('name = "c"\n[cloud_init]\n')))
    seeded = with_ssh_key(profile)
    key = identity().public
    assert seeded.cloud_init.ssh_authorized_keys == (key,)
    assert with_ssh_key(seeded) == seeded


def test_a_vm_on_another_libvirt_host_is_not_supported_in_one_line(monkeypatch):
    from vmrun import ssh
    from vmrun.errors import NotSupported

    class Remote:
        name, engine, host = "far", "libvirt", "lab1"

    monkeypatch.setattr("vmrun.engines.find", lambda name, connect=None: Remote())
    with pytest.raises(NotSupported) as e:
        ssh.target("far", connect="qemu+ssh://lab1/system")
    assert e.value.message == "far: ssh to a VM on lab1 is not supported on the libvirt engine"
    assert e.value.hint == "ssh lab1, then vmrun ssh far there"
