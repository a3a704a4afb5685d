"""The one adapter to an ISO 9660 maker: genisoimage, else xorriso in its mkisofs mode (same options)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from vmrun.errors import LaunchError, PreflightError

TOOLS = ("genisoimage", "xorriso")
TIMEOUT = 60.0


def find_tool() -> str:
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            return found
    raise PreflightError(
        "no ISO tool to make the cloud-init seed with (genisoimage or xorriso)", hint="apt install genisoimage"
    )


def make_iso(out: Path, label: str, folder: Path, *, tool: str | None = None) -> None:
    """An ISO of ``folder``'s files, volume label ``label``, Joliet and Rock Ridge names, written to ``out`` (0600)."""
    program = tool or find_tool()
    mkisofs = ["-as", "mkisofs"] if Path(program).name == "xorriso" else []
    argv = [program, *mkisofs, "-quiet", "-output", str(out), "-volid", label, "-joliet", "-rock", str(folder)]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"cannot make {out}: {e}", argv=argv) from None
    if done.returncode != 0:
        raise LaunchError(
            f"{Path(program).name} could not make {out}", argv=argv, exit_code=done.returncode, output_tail=done.stderr
        )
    os.chmod(out, 0o600)
