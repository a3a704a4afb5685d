"""`vmrun ssh` and `vmrun ssh-config`: where a running VM's sshd is reached, as whom, with which key.

- Where: a forward from the host to guest port 22 if the VM has one, else the first address of the
  guest (`vmrun ip`: its agent, else what the host knows) whose port 22 answers.
- As whom: ``-l USER``, else the profile's ``[cloud_init] user``, else root.
- Which key: :func:`vmrun.sshkeys.identity` (the user's, else vmrun's own); vmrun puts it in the
  guest itself: into the cloud-init seed and, on a running guest, through its agent
  (``guest-ssh-add-authorized-keys``).
- Host keys: a known_hosts file of vmrun's (never the user's), ``StrictHostKeyChecking=accept-new``,
  ``HostKeyAlias=vmrun-NAME``, so that an address or port another VM used before does not clash.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from vmrun.errors import AgentError, StateError, VmrunError
from vmrun.sshkeys import identity, ssh_folder

PROBE_TIMEOUT = 1.0  # per address: is port 22 answering there?


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    user: str
    identity: Path
    known_hosts: Path

    @property
    def alias(self) -> str:
        return f"vmrun-{self.name}"

    def options(self) -> list[tuple[str, str]]:
        """The ssh options, as ``-o`` takes them and as an ssh_config Host block has them."""
        return [
            ("HostName", self.host),
            ("Port", str(self.port)),
            ("User", self.user),
            ("IdentityFile", str(self.identity)),
            ("IdentitiesOnly", "yes"),
            ("UserKnownHostsFile", str(self.known_hosts)),
            ("StrictHostKeyChecking", "accept-new"),
            ("HostKeyAlias", self.alias),
        ]


def login_user(vm, user: str | None) -> str:
    """``-l``, else the profile's ``[cloud_init] user``, else root."""
    if user:
        return user
    try:
        from vmrun.profile import load_profile

        profile = load_profile(vm.require_state().profile)
    except (VmrunError, OSError):
        return "root"
    return (profile.cloud_init.user if profile.cloud_init else None) or "root"


def forward_to_22(state) -> tuple[str, int] | None:
    for fwd in state.forwards:
        proto, rest = fwd.rule.split(":", 1)
        host_part, guest_part = rest.split("-", 1)
        host, port = host_part.rsplit(":", 1)
        if proto == "tcp" and guest_part.rsplit(":", 1)[1] == "22":
            return ("127.0.0.1" if host in ("0.0.0.0", "") else host), int(port)
    return None


def put_key(vm, user: str, key: str) -> bool:
    """The key into the running guest's authorized_keys through its agent; False if no agent answers."""
    try:
        vm.agent_add_ssh_keys(user, [key])
        return True
    except AgentError:
        return False


def target(name: str, user: str | None = None, connect: str | None = None, *, notice=lambda _: None) -> Target:
    """Where and as whom to ssh into the VM, with vmrun's key put in it first."""
    from vmrun.engines import find
    from vmrun.engines.base import not_supported

    vm = find(name, connect)
    if vm.host != "local":
        raise not_supported(
            name, f"ssh to a VM on {vm.host}", vm.engine, hint=f"ssh {vm.host}, then vmrun ssh {name} there"
        )
    state = vm.require_state()
    who = login_user(vm, user)
    key = identity()
    put = put_key(vm, who, key.public)
    where = forward_to_22(state)
    if where is None:
        where = _reachable(vm, name, notice)
    if not put:
        notice(f"{name}: no guest agent took the key; the guest must know it already (cloud-init seed)")
    return Target(name, where[0], where[1], who, key.private, ssh_folder() / "known_hosts")


def _reachable(vm, name: str, notice) -> tuple[str, int]:
    from vmrun.engines.guest import addresses, ipv4_first

    try:
        found = ipv4_first(addresses(vm, notice))
    except AgentError as e:
        raise StateError(
            f"{name}: no forward to guest port 22, and {e.message.split(': ', 1)[-1]}",
            hint='add hostfwd = ["tcp::2222-:22"] to a user NIC of its profile, or run qemu-ga in the guest',
        ) from None
    for address in found:
        try:
            with socket.create_connection((address, 22), timeout=PROBE_TIMEOUT):
                return address, 22
        except OSError:
            continue
    if not found:
        raise StateError(
            f"{name}: no forward to guest port 22 and no address of the guest is known",
            hint=f'vmrun ip {name}; or add hostfwd = ["tcp::2222-:22"] to a user NIC',
        )
    raise StateError(
        f"{name}: port 22 answers on none of its addresses ({', '.join(found)})",
        hint="is sshd running in the guest, and is its network reachable from this host?",
    )


def ssh_argv(
    name: str, user: str | None, extra: list[str], connect: str | None = None, *, notice=lambda _: None
) -> list[str]:
    import sys

    t = target(name, user, connect, notice=notice)
    # No terminal to type a password or a passphrase at: fail rather than wait for one.
    argv = ["ssh"] if sys.stdin.isatty() else ["ssh", "-o", "BatchMode=yes"]
    for key, value in t.options():
        if key != "HostName":
            argv += ["-o", f"{key}={_quote(value)}"]  # ssh reads -o as a config line
    return argv + [t.host, *extra]


def config_block(t: Target) -> str:
    """One ``Host NAME`` block for ``ssh -F`` (or an ``Include`` in ~/.ssh/config)."""
    lines = [f"Host {t.name}"]
    lines += [f"    {key} {_quote(value)}" for key, value in t.options()]
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value


def ssh_config(names: list[str], connect: str | None = None, *, notice=lambda _: None) -> str:
    """Host blocks for the VMs named, or for every local VM that runs; a VM that cannot be reached is said."""
    if not names:
        from vmrun.engines import status_all

        names = [s.name for s in status_all(connect) if s.host == "local" and s.status == "running"]
    blocks = []
    for name in names:
        try:
            blocks.append(config_block(target(name, None, connect, notice=notice)))
        except VmrunError as e:
            if len(names) == 1:
                raise
            notice(e.message)
    return "\n".join(blocks)
