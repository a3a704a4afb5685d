"""The one error boundary: what it says for OS errors nothing below it turned into a VmrunError."""

from __future__ import annotations

import os
import subprocess

import pytest
import typer

from tests.conftest import vmrun_bin
from vmrun.cli import base as cli  # the boundary: command() and _debug


def test_a_reader_that_went_away_is_not_an_error_message(write_profile, runtime_dir):
    """`vmrun show x | (reader gone)` said "vmrun: error: cannot use: Broken pipe"; like any Unix tool
    whose reader left, vmrun now stops without a word, with the shell's status for SIGPIPE."""
    path = write_profile('name = "x"\n')
    r, w = os.pipe()
    os.close(r)
    try:
        done = subprocess.run([vmrun_bin(), "show", str(path)], stdout=w, stderr=subprocess.PIPE, text=True, timeout=30)
    finally:
        os.close(w)
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.parametrize(
    "error", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32, "Broken pipe")]
)
def test_an_unexpected_os_error_without_a_file_says_so(monkeypatch, capsys, error):
    """Was "cannot use: Broken pipe": "cannot use" what? The boundary now says it did not expect it, and how to
    see where; an EPIPE that is not our stdout's is said too (re-raised, click would have swallowed it: exit 1, silent)."""
    monkeypatch.setattr(cli, "_debug", False)
    group = typer.Typer()

    @cli.command(group=group)
    def boom() -> None:
        raise error

    with pytest.raises(typer.Exit) as e:
        group.registered_commands[0].callback()
    assert e.value.exit_code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vmrun: error: {error.strerror} (an OS error vmrun did not expect here)"), err
    assert "vmrun --debug" in err
