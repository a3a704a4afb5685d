"""`vmrun ssh`: the ssh command that reaches a running VM through its forward to guest port 22."""

from __future__ import annotations

from vmrun.engines import find
from vmrun.errors import StateError


def ssh_argv(name: str, user: str | None, extra: list[str]) -> list[str]:
    state = find(name).require_state()
    for fwd in state.forwards:
        proto, rest = fwd.rule.split(":", 1)
        host_part, guest_part = rest.split("-", 1)
        host, port = host_part.rsplit(":", 1)
        if proto == "tcp" and guest_part.rsplit(":", 1)[1] == "22":
            target = "127.0.0.1" if host == "0.0.0.0" else host
            argv = ["ssh", "-p", port, "-o", "NoHostAuthenticationForLocalhost=yes"]
            if user:
                argv += ["-l", user]
            return argv + [target, *extra]
    raise StateError(
        f"{name}: no forward to guest port 22", hint='add hostfwd = ["tcp::2222-:22"] to a user NIC of its profile'
    )
