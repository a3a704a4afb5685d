"""What the script does on the host for a NIC: the bridge a tap joins, the macvtap behind an fd.

A tap given as ``ifname=`` or a macvtap given as ``fd=`` was made by the script's
other commands; reading them tells which vmrun NIC type fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmrun.importer.script import HostCommand, Script

_IFINDEX = re.compile(r"/sys/class/net/([^/\s\"'$]+)/ifindex")
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Found:
    nic: dict[str, str]  # the profile keys it gives: type, bridge / parent, mode
    line: int
    how: str


def tap_attachment(script: Script, ifname: str) -> Found | None:
    """``ip link set TAP master BR``, ``brctl addif BR TAP`` or ``ovs-vsctl add-port BR TAP``."""
    for cmd in script.host_commands:
        w = list(cmd.words)
        if _after(w, "ip", "link") and "set" in w:
            rest = w[w.index("set") + 1 :]
            if ifname in rest and "master" in rest[:-1]:
                return Found({"type": "bridge", "bridge": rest[rest.index("master") + 1]}, cmd.line, " ".join(w))
        if "brctl" in w and "addif" in w[:-2]:
            i = w.index("addif")
            if w[i + 2] == ifname:
                return Found({"type": "bridge", "bridge": w[i + 1]}, cmd.line, " ".join(w))
        if "ovs-vsctl" in w and "add-port" in w[:-2]:
            i = w.index("add-port")
            if w[i + 2] == ifname:
                return Found({"type": "ovs", "bridge": w[i + 1]}, cmd.line, " ".join(w))
    return None


def macvtap_behind_fd(script: Script, fd: str) -> Found | None:
    """``fd=3`` with ``3<>/dev/tap$(cat /sys/class/net/NAME/ifindex)`` and ``ip link add ... type macvtap``."""
    for r in script.redirects:
        if r.fd != fd or r.target is None:
            continue
        # 3<>/dev/tap$(cat ...), or 3<>$TAPDEV with TAPDEV=/dev/tap$(cat ...) (one variable deep).
        texts = [r.target.raw] + [script.assigned_raw.get(v, "") for v in _VAR.findall(r.target.raw)]
        texts += [script.assigned_raw.get(v, "") for t in texts[1:] for v in _VAR.findall(t)]
        if not any("/dev/tap" in t for t in texts):
            continue
        names = [m.group(1) for t in texts if (m := _IFINDEX.search(t))]
        for name in names:
            for cmd in script.host_commands:
                link = _ip_link_add(cmd)
                if link and link.get("name") == name and link.get("type") == "macvtap" and "link" in link:
                    nic = {"type": "macvtap", "parent": link["link"], "mode": link.get("mode", "vepa")}
                    if "address" in link:
                        nic["mac"] = link["address"]
                    return Found(nic, cmd.line, " ".join(cmd.words))
    return None


def _after(words: list[str], first: str, second: str) -> bool:
    return first in words and second in words[words.index(first) + 1 :]


def _ip_link_add(cmd: HostCommand) -> dict[str, str] | None:
    """``ip link add link eth0 name mvt0 type macvtap mode bridge`` -> {link, name, type, mode}."""
    w = list(cmd.words)
    if not (_after(w, "ip", "link") and "add" in w):
        return None
    out: dict[str, str] = {}
    rest = w[w.index("add") + 1 :]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("link", "name", "dev", "type", "mode", "address") and i + 1 < len(rest):
            out["name" if word == "dev" else word] = rest[i + 1]
            i += 2
        elif "name" not in out and not word.startswith("-") and word not in ("txqueuelen", "mtu"):
            out["name"] = word
            i += 1
        else:
            i += 2 if word in ("txqueuelen", "mtu") else 1
    return out
