"""``type = "ovs"``: a vmrun-made tap added as a port of an Open vSwitch bridge (through :mod:`vmrun.adapters.ovs`)."""

from __future__ import annotations

from vmrun.adapters import ovs
from vmrun.adapters.ovs import START_HINT, VSCTL, last_line, owner, vsctl
from vmrun.errors import HostNetError, PreflightError
from vmrun.net import tap
from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic, nic_field
from vmrun.net.hostobj import OvsPort
from vmrun.profile.model import Nic, Profile


class OvsBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        return tap.shown_netdev(nic, tap.by_name(profile, nic))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        assert nic.bridge is not None
        tap.check_ifname(nic.bridge, profile, f"{field}.bridge")
        if not ovs.installed():
            raise PreflightError(
                f"{VSCTL} not found: Open vSwitch is not installed",
                source=profile.source,
                field=f"{field}.type",
                hint="apt-get install openvswitch-switch",
            )
        r = vsctl("br-exists", nic.bridge)
        if r.returncode == 2:
            raise PreflightError(
                f"there is no Open vSwitch bridge {nic.bridge!r}",
                source=profile.source,
                field=f"{field}.bridge",
                hint=f"create it (ovs-vsctl add-br {nic.bridge}) or fix the name",
            )
        if r.returncode != 0:
            raise PreflightError(
                f"Open vSwitch is not running ({last_line(r)})",
                source=profile.source,
                field=f"{field}.bridge",
                hint=START_HINT,
            )
        if not ovs.switch_running():
            raise PreflightError(
                "ovs-vswitchd is not running: the port would be added but pass nothing",
                source=profile.source,
                field=f"{field}.bridge",
                hint=START_HINT,
            )
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
        userspace = ovs.datapath(nic.bridge) == "netdev"
        # OVS's userspace datapath reads a kernel port with a packet socket and forwards a frame
        # whose checksum QEMU left to the kernel (virtio offload) as it is: broken. Without
        # virtio-net headers on the tap, QEMU and the guest complete every checksum themselves.
        t = tap.make_tap(nic, ctx, bridge=None, vnet_hdr=not userspace)
        vm = ctx.profile.name
        # Recorded first: an add-port that times out half way is still undone.
        ctx.made(OvsPort(bridge=nic.bridge, port=t.name, vm=vm))
        r = ovs.add_port(nic.bridge, t.name, vlan=nic.vlan, external_ids={"vmrun-vm": vm, "vmrun-nic": nic.id})
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
