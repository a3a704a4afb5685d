"""The script's other commands (ip, brctl, swtpm...): the note each gets, as vmrun runs QEMU only."""

from __future__ import annotations

import os

# Programs that run another program: QEMU may come after them and their options.
WRAPPERS = {
    "exec",
    "sudo",
    "doas",
    "env",
    "nohup",
    "nice",
    "ionice",
    "taskset",
    "numactl",
    "chrt",
    "setsid",
    "stdbuf",
    "command",
    "systemd-run",
    "unbuffer",
}


def one_line(text: str) -> str:
    """Control characters spelled out: a message is one line on stderr and a valid TOML comment."""
    return "".join(c if " " <= c != "\x7f" else repr(c)[1:-1] for c in text)


# Helper daemons a script starts for QEMU: what has vmrun start its own (vmrun/importer/wholevm.py).
_DAEMONS = {"swtpm": "the [tpm] key has vmrun start its own", "virtiofsd": "a [[shares]] entry has vmrun start its own"}


def not_run(words: tuple[str, ...]) -> str:
    """The note on one of the script's other commands (ip, brctl...): vmrun runs QEMU only."""
    daemon = next((_DAEMONS[os.path.basename(w)] for w in words[:3] if os.path.basename(w) in _DAEMONS), None)
    if daemon:
        return f"{one_line(' '.join(words))}: not run by vmrun ({daemon})"
    why = (
        ', and makes the host side of bridge, macvtap and ovs NICs itself; a type = "tap" NIC\'s tap must exist '
        "before vmrun up)"
        if _is_network(words)
        else ")"
    )
    return f"{one_line(' '.join(words))}: not run by vmrun (it runs QEMU only{why}"


# Commands that change nothing a VM needs: not worth a note.
_QUIET = {
    "echo",
    "printf",
    "set",
    "cd",
    "pushd",
    "popd",
    "true",
    "false",
    ":",
    "exit",
    "wait",
    "trap",
    "sleep",
    "shopt",
    "return",
    "read",
    "test",
    "[",
    "[[",
    "unset",
    "shift",
    "source",
    ".",
    "fi",
    "done",
    "esac",
    "}",
}
_NETWORK = {"ip", "brctl", "tunctl", "ovs-vsctl", "ifconfig", "nmcli", "modprobe", "sysctl", "iptables", "nft"}


def is_action(words: tuple[str, ...]) -> bool:
    rest = [w for w in words if w not in WRAPPERS]
    return bool(rest) and os.path.basename(rest[0]) not in _QUIET


def _is_network(words: tuple[str, ...]) -> bool:
    return any(os.path.basename(w) in _NETWORK for w in words[:3])
