"""``type = "ovs"``: a vmrun-made tap added as a port of an Open vSwitch bridge.

The port carries ``external-ids:vmrun-vm`` so that releasing it can tell our
port from one an administrator made under the same name: only ours is removed.
ovs-vsctl finds the database as it always does (``OVS_RUNDIR``, ``--db`` defaults).
"""

from __future__ import annotations

import json
import shutil
import subprocess

from vmrun.errors import HostNetError, PreflightError
from vmrun.net import tap
from vmrun.net.base import NetdevSpec, PreparedNic, PrepareContext, nic_field
from vmrun.net.hostobj import OvsPort
from vmrun.profile.model import Nic, Profile

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
        raise HostNetError(f"Open vSwitch does not answer ({e.message.removeprefix(f'{VSCTL}: ')}), so the port "
                           "stays on record") from None  # fmt: skip
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
    r = subprocess.run(["ovs-appctl", f"--timeout={TIMEOUT}", "-t", "ovs-vswitchd", "version"],
                       capture_output=True, text=True, check=False)  # fmt: skip
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


class OvsBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        return tap.shown_netdev(nic, tap.by_name(profile, nic))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        assert nic.bridge is not None
        tap.check_ifname(nic.bridge, profile, f"{field}.bridge")
        if shutil.which(VSCTL) is None:
            raise PreflightError(f"{VSCTL} not found: Open vSwitch is not installed", source=profile.source,
                                 field=f"{field}.type", hint="apt-get install openvswitch-switch")  # fmt: skip
        r = vsctl("br-exists", nic.bridge)
        if r.returncode == 2:
            raise PreflightError(
                f"there is no Open vSwitch bridge {nic.bridge!r}",
                source=profile.source,
                field=f"{field}.bridge",
                hint=f"create it (ovs-vsctl add-br {nic.bridge}) or fix the name",
            )
        if r.returncode != 0:
            raise PreflightError(f"Open vSwitch is not running ({last_line(r)})", source=profile.source,
                                 field=f"{field}.bridge", hint=START_HINT)  # fmt: skip
        if not switch_running():
            raise PreflightError("ovs-vswitchd is not running: the port would be added but pass nothing",
                                 source=profile.source, field=f"{field}.bridge", hint=START_HINT)  # fmt: skip
        port = tap.link_name(profile.name, nic.id)
        mine = owner(port)
        if mine is not None and mine != profile.name:
            raise PreflightError(
                f"Open vSwitch has a port {port} already, and vmrun did not make it for {profile.name}",
                source=profile.source,
                field=f"{field}.id",
                hint=f"rename the NIC, or remove that port if it is stale: ovs-vsctl del-port {port}",
            )
        tap.check_vhost(nic, profile, field)

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        assert nic.bridge is not None
        userspace = datapath(nic.bridge) == "netdev"
        # OVS's userspace datapath reads a kernel port with a packet socket and forwards a frame
        # whose checksum QEMU left to the kernel (virtio offload) as it is: broken. Without
        # virtio-net headers on the tap, QEMU and the guest complete every checksum themselves.
        t = tap.make_tap(nic, ctx, bridge=None, vnet_hdr=not userspace)
        vm = ctx.profile.name
        # Recorded first: an add-port that times out half way is still undone.
        ctx.made(OvsPort(bridge=nic.bridge, port=t.name, vm=vm))
        # The tag is set apart from add-port: --may-exist skips an existing (stale) port's columns.
        tag = ["set", "port", t.name, f"tag={nic.vlan}"] if nic.vlan is not None else ["clear", "port", t.name, "tag"]
        r = vsctl(
            "--may-exist", "add-port", nic.bridge, t.name,
            "--", *tag,
            "--", "set", "interface", t.name,
            f"external-ids:vmrun-vm={_quoted(vm)}", f"external-ids:vmrun-nic={_quoted(nic.id)}",
        )  # fmt: skip
        if r.returncode != 0:
            raise HostNetError(
                f"cannot add {t.name} to Open vSwitch bridge {nic.bridge}: {last_line(r)}",
                hint="is ovs-vswitchd running? ovs-vsctl show lists what OVS has",
            )
        # vmrun passes the fds: a `queues=` next to `fds=` is refused by QEMU.
        spec = NetdevSpec("tap", t.netdev_options(), tap.device_options(nic))
        host = {"tap": t.name, "bridge": nic.bridge, "datapath": "netdev" if userspace else "system", "vhost": t.vhost}
        if nic.vlan is not None:
            host["vlan"] = nic.vlan
        return PreparedNic(nic, spec, tuple(t.fds), host=host)


BACKEND = OvsBackend()
