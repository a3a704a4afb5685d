"""QEMU command lines compared by meaning, for tests: the seed's script read as sh would, options normalised."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from vmrun.qemuopts import split
from vmrun.show import option_lines


def seed_argv(script: Path) -> list[str]:
    """The command of the seed's start.sh: continuations joined, ${N:-default} taken at its default."""
    command = []
    for line in script.read_text().splitlines():
        if line.startswith("#") and not command:
            continue
        if not line.strip():
            if command:
                break
            continue
        command.append(line.rstrip().removesuffix("\\"))
    text = re.sub(r"\$\{\d+:-([^}]*)\}", r"\1", " ".join(command))
    return shlex.split(text)


# Options whose value is a key=value list: compared as a head plus a set of pairs.
KV_OPTIONS = {"-device", "-netdev", "-chardev", "-drive", "-name", "-spice"}


def qemu_meaning(argv: list[str], *, bare_forward: str) -> list[tuple]:
    """Each option as QEMU reads it, spelled one way: modern booleans, no device ids, and a forward
    without a host address written with ``bare_forward`` (vmrun's 127.0.0.1, or QEMU's own 0.0.0.0).
    """
    out = []
    for line in option_lines(argv)[1:]:
        if line == ["-enable-kvm"]:
            line = ["-accel", "kvm"]
        if len(line) == 2 and line[0] in KV_OPTIONS:
            parts = split(line[1])
            head = parts[0] if "=" not in parts[0] else None
            pairs = set()
            for part in parts[1:] if head else parts:
                key, _, value = part.partition("=")
                value = value or "on"  # QEMU's old bare boolean form
                if line[0] == "-device" and key == "id":
                    continue  # vmrun names NIC devices so that QMP can address them
                if key == "hostfwd" and value.split(":")[1] == "":
                    value = value.replace("::", f":{bare_forward}:", 1)
                pairs.add((key, value))
            out.append((line[0], head, frozenset(pairs)))
        else:
            out.append(tuple(line))
    return out
