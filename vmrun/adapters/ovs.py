"""The one adapter to Open vSwitch (ovs-vsctl, ovs-appctl): ports, bridges and whether OVS answers.

ovs-vsctl finds the database as it always does (``OVS_RUNDIR``, ``--db`` defaults). Every call
has a timeout: a stopped ovs-vswitchd must not hang a command. The ports vmrun makes carry
``external-ids:vmrun-vm``, so that releasing one can tell vmrun's port from one an administrator
made under the same name: only vmrun's is removed.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from vmrun.errors import HostNetError

VSCTL = "ovs-vsctl"
# ovs-vsctl waits for ovs-vswitchd to apply a change; a stopped vswitchd must not hang `up`.
TIMEOUT = 10
START_HINT = "start Open vSwitch: systemctl start openvswitch-switch (or /usr/share/openvswitch/scripts/ovs-ctl start)"


def vsctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VSCTL, f"--timeout={TIMEOUT}", *args], capture_output=True, text=True, check=False)


def _quoted(value: str) -> str:
    # OVSDB's string syntax is JSON's: a quoted value cannot be read as another key or column.
    return json.dumps(value)


def owner(port: str) -> str | None:
    """The VM whose port this is (``external-ids:vmrun-vm``); "" if not vmrun's, None if no such port."""
    r = vsctl("--if-exists", "get", "interface", port, "external-ids:vmrun-vm")
    if r.returncode != 0:
        raise HostNetError(f"{VSCTL}: {last_line(r)}", hint=START_HINT)
    if r.stdout == "":
        return None
    value = r.stdout.strip()
    return json.loads(value) if value.startswith('"') else value


def delete_port(bridge: str, port: str, vm: str) -> bool:
    """Remove ``port`` if it still is vmrun's port for ``vm``; False if it was gone, or not ours.

    OVS not installed counts as gone. Its database not answering (OVS stopped) raises: the port
    may still be there once OVS is back, so its record is kept for `vmrun gc`.
    """
    if shutil.which(VSCTL) is None:
        return False
    try:
        mine = owner(port)
    except HostNetError as e:
        raise HostNetError(
            f"Open vSwitch does not answer ({e.message.removeprefix(f'{VSCTL}: ')}), so the port stays on record"
        ) from None
    if mine != vm:
        return False
    # Whatever bridge it is on now: its external id says it is ours. --no-wait: the record
    # going is what counts; a stopped ovs-vswitchd must not make it fail.
    r = vsctl("--no-wait", "--if-exists", "del-port", port)
    if r.returncode != 0:
        raise HostNetError(f"cannot remove OVS port {port} from {bridge}: {last_line(r)}")
    return True


def switch_running() -> bool:
    """Whether ovs-vswitchd answers on its control socket (found in OVS_RUNDIR, as ovs-vsctl finds the db)."""
    if shutil.which("ovs-appctl") is None:
        return True  # cannot tell; add-port's timeout still bounds the wait
    r = subprocess.run(
        ["ovs-appctl", f"--timeout={TIMEOUT}", "-t", "ovs-vswitchd", "version"],
        capture_output=True,
        text=True,
        check=False,
    )
    return r.returncode == 0


def datapath(bridge: str) -> str:
    """``netdev`` for a userspace-datapath bridge; ``system`` (or "") for the kernel's."""
    r = vsctl("get", "bridge", bridge, "datapath_type")
    if r.returncode != 0:
        raise HostNetError(f"cannot read Open vSwitch bridge {bridge}: {last_line(r)}")
    return r.stdout.strip().strip('"')


def last_line(r: subprocess.CompletedProcess[str]) -> str:
    lines = (r.stderr or r.stdout).strip().splitlines()
    return lines[-1].removeprefix(f"{VSCTL}: ") if lines else f"exit status {r.returncode}"


def installed() -> bool:
    return shutil.which(VSCTL) is not None


def add_port(
    bridge: str, port: str, *, vlan: int | None, external_ids: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``port`` on ``bridge`` (kept if it is there), its VLAN tag set or cleared, its external ids written."""
    # The tag is set apart from add-port: --may-exist skips an existing (stale) port's columns.
    tag = ["set", "port", port, f"tag={vlan}"] if vlan is not None else ["clear", "port", port, "tag"]
    ids = [f"external-ids:{key}={_quoted(value)}" for key, value in external_ids.items()]
    return vsctl("--may-exist", "add-port", bridge, port, "--", *tag, "--", "set", "interface", port, *ids)
