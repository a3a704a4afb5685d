"""`vmrun ssh` builds its ssh command from the running VM's recorded forwards."""

from __future__ import annotations

import json

import pytest

from vmrun.errors import StateError
from vmrun.ssh import ssh_argv


def fake_run(runtime_dir, forwards):
    folder = runtime_dir / "s"
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(
        json.dumps({"name": "s", "profile": "/p/s.toml", "pid": 1, "forwards": forwards, "nics": []})
    )


def test_ssh_uses_the_forward_to_port_22(runtime_dir):
    fake_run(
        runtime_dir, [{"nic": "n", "rule": "tcp:127.0.0.1:8080-:80"}, {"nic": "n", "rule": "tcp:0.0.0.0:2222-:22"}]
    )
    assert ssh_argv("s", "root", ["uname", "-a"]) == [
        "ssh",
        "-p",
        "2222",
        "-o",
        "NoHostAuthenticationForLocalhost=yes",
        "-l",
        "root",
        "127.0.0.1",
        "uname",
        "-a",
    ]


def test_ssh_without_a_forward_says_how_to_add_one(runtime_dir):
    fake_run(runtime_dir, [{"nic": "n", "rule": "tcp:127.0.0.1:8080-:80"}])
    with pytest.raises(StateError, match="no forward to guest port 22"):
        ssh_argv("s", None, [])
