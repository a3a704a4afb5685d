"""`vmrun doctor`: everything that stands between a profile and a running guest, with the fix.

Host checks first (QEMU, KVM, tun, vhost-net, the bridge helper, bridge
netfilter, libvirt, OVS), then the profile's own (the same preflight `vmrun up`
runs, but all of it, not stopping at the first failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from vmrun import accel
from vmrun.errors import PreflightError, ProfileError
from vmrun.profile.model import Accel, Nic, NicType, Profile, Vhost, Via

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return asdict(self)


def run(profile: Profile | None) -> list[Check]:
    checks = list(host_checks(profile))
    if profile is not None:
        checks += list(profile_checks(profile))
    return checks


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)


# -- host ----------------------------------------------------------------------------------------


def host_checks(profile: Profile | None) -> Iterator[Check]:
    yield qemu_check(profile)
    yield kvm_check(profile)
    yield device_check("/dev/net/tun", "taps", _uses_taps(profile), "modprobe tun")
    yield vhost_check(profile)
    yield helper_check(profile)
    yield virtiofsd_check(profile)
    bridged = any(n.type in (NicType.BRIDGE, NicType.NETWORK) for n in (profile.nics if profile else ()))
    yield bridge_netfilter_check(read_sysctl("net/bridge/bridge-nf-call-iptables"), forward_policy(), needed=bridged)
    if profile is None or _uses(profile, NicType.NETWORK):
        yield libvirt_check(profile)
    if profile is None or _uses(profile, NicType.OVS):
        yield ovs_check(profile)


def _uses(profile: Profile | None, kind: NicType) -> bool:
    return profile is not None and any(n.type is kind for n in profile.nics)


def _uses_taps(profile: Profile | None) -> bool:
    if profile is None:
        return False
    from vmrun.net.bridge import resolve_via

    kinds = (NicType.BRIDGE, NicType.NETWORK)
    return _uses(profile, NicType.OVS) or any(n.type in kinds and resolve_via(n) is Via.TAP for n in profile.nics)


def qemu_check(profile: Profile | None) -> Check:
    binary = profile.qemu if profile else "qemu-system-x86_64"
    found = shutil.which(binary)
    if not found:
        fix = "apt-get install qemu-system-x86"
        if "/" in binary:
            fix = f'install QEMU at {binary}, or write qemu = "qemu-system-x86_64" in the profile'
        return Check("qemu", FAIL, f"{binary} not found", fix)
    try:
        out = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return Check("qemu", FAIL, f"{found} does not run: {e}", "reinstall qemu-system-x86")
    return Check("qemu", PASS, f"{found}: {out.splitlines()[0] if out else 'unknown version'}")


def kvm_check(profile: Profile | None) -> Check:
    problem = accel.kvm_problem()
    wanted = profile.accel if profile else Accel.AUTO
    if problem is None:
        return Check("kvm", PASS, "KVM is usable")
    if wanted is Accel.KVM:
        return Check(
            "kvm", FAIL, f"the profile wants KVM, but {problem}", 'accel = "auto" (falls back to TCG) or "tcg"'
        )
    if wanted is Accel.TCG:
        return Check("kvm", PASS, f"not needed (accel = tcg); {problem}")
    return Check(
        "kvm",
        WARN,
        f"guests will run under TCG (slow): {problem}",
        "load kvm_intel or kvm_amd on a host with hardware virtualisation",
    )


def device_check(path: str, purpose: str, needed: bool, fix: str) -> Check:
    try:
        os.close(os.open(path, os.O_RDWR))
        return Check(path, PASS, f"opens ({purpose})")
    except OSError as e:
        return Check(path, FAIL if needed else WARN, f"cannot be opened: {e.strerror} (needed for {purpose})", fix)


def vhost_check(profile: Profile | None) -> Check:
    on = profile is not None and any(n.vhost is Vhost.ON for n in profile.nics)
    check = device_check("/dev/vhost-net", "vhost-net acceleration", on, "modprobe vhost_net")
    if check.status == WARN:
        return Check(check.name, WARN, f'{check.detail}; vhost = "auto" NICs run without it', check.fix)
    return check


def helper_check(profile: Profile | None) -> Check:
    from vmrun.net.bridge import find_helper, helper_privileged, resolve_via

    kinds = (NicType.BRIDGE, NicType.NETWORK)
    helper_nics = [n for n in (profile.nics if profile else ()) if n.type in kinds and resolve_via(n) is Via.HELPER]
    helper = find_helper(helper_nics[0] if helper_nics else None)
    status = FAIL if helper_nics else WARN
    if not os.access(helper, os.X_OK):
        return Check("bridge helper", status, f"{helper} not found", "apt-get install qemu-system-common")
    if os.geteuid() != 0 and not helper_privileged(helper):
        return Check("bridge helper", status, f"{helper} is not setuid root", f"chmod u+s {helper}")
    return Check("bridge helper", PASS, f"{helper} ({'running as root' if os.geteuid() == 0 else 'setuid'})")


def virtiofsd_check(profile: Profile | None) -> Check:
    """The virtiofsd a virtiofs share gets (QEMU's C one or the Rust one); missing fails only a profile that needs it."""
    from vmrun.devices import shares

    daemon = shares.find_daemon()
    if daemon is None:
        status = FAIL if profile is not None and shares.virtiofs(profile) else WARN
        return Check("virtiofsd", status, "not found (virtiofs shares need it)", "apt-get install qemu-system-common")
    kind = "QEMU's C virtiofsd" if daemon.flavour is shares.Flavour.C else "the Rust virtiofsd"
    return Check("virtiofsd", PASS, f"{daemon.path} ({kind})")


def read_sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:
        return None


def forward_policy() -> str | None:
    """The iptables FORWARD chain's policy (``ACCEPT``/``DROP``), or None if it cannot be read."""
    if not shutil.which("iptables"):
        return None
    try:
        out = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("-P FORWARD "):
            return line.split()[2]
    return None


def bridge_netfilter_check(call_iptables: str | None, policy: str | None, *, needed: bool = False) -> Check:
    """Bridged guest traffic goes through iptables' FORWARD when br_netfilter says so; DROP there cuts guests off."""
    name = "bridge netfilter"
    if call_iptables is None:
        return Check(name, PASS, "br_netfilter is not loaded: bridged traffic skips iptables")
    if call_iptables == "0":
        return Check(name, PASS, "br_netfilter loaded, bridge-nf-call-iptables = 0")
    if policy == "DROP":
        return Check(
            name,
            FAIL if needed else WARN,
            "br_netfilter sends bridged traffic through iptables FORWARD, whose policy is DROP",
            "sysctl -w net.bridge.bridge-nf-call-iptables=0 (or accept the bridge: "
            "iptables -I FORWARD -m physdev --physdev-is-bridged -j ACCEPT)",
        )
    return Check(name, PASS, f"bridge-nf-call-iptables = 1, FORWARD policy {policy or 'unknown'}")


def libvirt_check(profile: Profile | None) -> Check:
    uris = sorted({n.uri for n in profile.nics if n.type is NicType.NETWORK}) if profile else ["qemu:///system"]
    status = FAIL if profile else WARN
    from vmrun.adapters import libvirt as lv

    for uri in uris:
        try:
            lv.open_connection(uri, readonly=True).close()
        except PreflightError as e:
            return Check("libvirt", status, e.message, e.hint)
    return Check("libvirt", PASS, f"reachable at {', '.join(uris)}")


def ovs_check(profile: Profile | None) -> Check:
    status = FAIL if profile else WARN
    from vmrun.adapters import ovs

    if not ovs.installed():
        return Check("openvswitch", status, "ovs-vsctl not found", "apt-get install openvswitch-switch")
    r = ovs.vsctl("show")
    if r.returncode != 0:
        return Check("openvswitch", status, f"OVS database not reachable: {ovs.last_line(r)}", ovs.START_HINT)
    return Check("openvswitch", PASS, "ovsdb reachable")


# -- the profile ---------------------------------------------------------------------------------


def profile_checks(profile: Profile) -> Iterator[Check]:
    from vmrun import disks, preflight
    from vmrun.net import backend_for

    yield boot_check(profile)
    if _wants_host_cpu(profile):
        yield host_cpu_check(profile, accel.kvm_problem())
    if problems := preflight.file_problems(profile):
        yield from (_failed("files", e) for e in problems)
    else:
        yield Check("files", PASS, "kernel, initrd, cdrom and disks exist")
    if profile.drives:
        yield _as_check("disk images", lambda: disks.check(profile), "backing files readable, no backing chain loops")
    for i in range(len(profile.drives)):
        if outside := disks.backing_outside(profile, i):
            yield Check(
                f"drives[{i}].backing",
                WARN,
                outside,
                "fine if you meant it; else keep the base image beside the profile",
            )
    yield from disks_in_use(profile)
    if profile.firmware == "uefi":
        yield firmware_check(profile)
    if profile.tpm is not None:
        from vmrun.devices import tpm

        yield _as_check("tpm", lambda: tpm.preflight(profile), f"swtpm installed (TPM {profile.tpm.version})")
    if profile.shares:
        from vmrun.devices import shares

        tags = ", ".join(f"{s.tag} ({s.type})" for s in profile.shares)
        yield _as_check("shares", lambda: shares.preflight(profile), f"folders ready to share: {tags}")
    yield from passthrough_checks(profile)
    for nic in profile.nics:
        yield _as_check(
            f"nic {nic.id} ({nic.type.value})",
            lambda nic=nic: backend_for(nic).preflight(nic, profile),
            _nic_summary(nic),
        )


def passthrough_checks(profile: Profile) -> Iterator[Check]:
    """[[pci]]: what `up` checks before VFIO (the step that fixes it); [[usb]]: whether the device is here now."""
    from vmrun.devices import pci, usbhost

    for i, dev in enumerate(profile.pci):
        problem = pci.host_problem(dev)
        if problem is None:
            yield Check(f"pci[{i}]", PASS, f"{dev.host}: IOMMU on, its group bound to vfio-pci")
        else:
            managed = " (under libvirt, whose hostdev is managed, libvirt binds it at start)" if problem.binding else ""
            yield Check(f"pci[{i}]", FAIL, problem.reason, problem.hint + managed)
    for i, usb in enumerate(profile.usb):
        why = usbhost.absent(usb)
        if why is None:
            yield Check(f"usb[{i}]", PASS, f"{usb.what} is plugged in")
        else:
            yield Check(
                f"usb[{i}]",
                WARN,
                f"{why}: QEMU waits for it (the guest sees it once it is plugged); libvirt refuses to start",
                f"plug in {usb.what}",
            )


def firmware_check(profile: Profile) -> Check:
    """The firmware QEMU's descriptors offer for it; none names the package that ships them."""
    from vmrun.devices import descriptors

    try:
        files = descriptors.choose(profile)
    except PreflightError as e:
        return Check("firmware", FAIL, f"{e.field}: {e.reason}", e.hint)
    return Check("firmware", PASS, f"{files.code} (from {files.descriptor})")


def _nic_summary(nic: Nic) -> str:
    if nic.hostfwd:
        return "host side ready; forwarded ports free: " + ", ".join(
            f"{f.host_addr}:{f.host_port}" for f in nic.hostfwd
        )
    return "host side ready"


def _as_check(name: str, func: Callable[[], None], ok: str) -> Check:
    try:
        func()
    except PreflightError as e:
        return _failed(name, e)
    except ProfileError as e:
        return Check(name, FAIL, e.message, e.hint)
    return Check(name, PASS, ok)


def _failed(name: str, e: PreflightError) -> Check:
    return Check(name, FAIL, f"{e.field}: {e.reason}" if e.field else e.reason, e.hint)


def disks_in_use(profile: Profile) -> Iterator[Check]:
    for i, drive in enumerate(profile.drives):
        path = os.path.realpath(drive.file)
        if not os.path.exists(path):
            continue
        users = processes_using(path)
        if users:
            yield Check(
                f"drives[{i}]",
                FAIL,
                f"{drive.file} is open in another process: {', '.join(users)}",
                "stop that VM first (vmrun ps), or use a copy or an overlay of the disk",
            )
        else:
            yield Check(f"drives[{i}]", PASS, f"{drive.file} is not in use")


def processes_using(path: str) -> list[str]:
    """``comm[pid]`` of every process with ``path`` open (what QEMU does with its disks)."""
    users = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                    comm = Path(f"/proc/{pid}/comm").read_text().strip()
                    users.append(f"{comm}[{pid}]")
                    break
        except OSError:
            continue
    return users


# Options in extra_args that give the guest something to boot from.
_BOOT_OPTIONS = ("-kernel", "-drive", "-hda", "-hdb", "-hdc", "-hdd", "-cdrom", "-blockdev", "-bios", "-pflash", "-fda")
# NICs whose network may have a PXE server; QEMU's user network and passt serve none unless told to.
_PXE_NICS = (NicType.BRIDGE, NicType.MACVTAP, NicType.OVS, NicType.NETWORK)


def boot_check(profile: Profile) -> Check:
    """A profile with no kernel, disk, CD-ROM or PXE-capable NIC starts a QEMU that only says "No bootable device"."""
    what = [k for k, v in (("kernel", profile.kernel), ("cdrom", profile.cdrom)) if v]
    what += [f"drives[{i}]" for i in range(len(profile.drives))]
    what += [a for a in profile.extra_args if a in _BOOT_OPTIONS]
    if what:
        return Check("boot", PASS, f"boots from {', '.join(dict.fromkeys(what))}")
    pxe = [n.id for n in profile.nics if n.type in _PXE_NICS]
    if pxe:
        return Check(
            "boot",
            WARN,
            f"no kernel, disk or CD-ROM: only a PXE boot over {', '.join(pxe)} can start it",
            'fine if a PXE server answers there; else add a [[drives]] table, cdrom = "ISO" or kernel = "..."',
        )
    return Check(
        "boot",
        FAIL,
        "nothing to boot: no kernel, no [[drives]], no cdrom, no NIC a PXE server could answer on",
        'add a disk ([[drives]] file = "disk.qcow2"), an installer (cdrom = "ISO") or kernel = "vmlinuz"',
    )


def _wants_host_cpu(profile: Profile) -> bool:
    return profile.cpu is not None and profile.cpu.split(",")[0] == "host"


def host_cpu_check(profile: Profile, kvm_problem: str | None) -> Check:
    """``cpu = "host"`` passes the host's CPU through, which only KVM can do: under TCG QEMU refuses to start."""
    if profile.accel is Accel.TCG:
        return Check(
            "cpu",
            FAIL,
            'cpu = "host" needs KVM, and the profile says accel = "tcg"',
            'cpu = "max" (every feature TCG emulates), or leave cpu out',
        )
    if kvm_problem is None:
        return Check("cpu", PASS, 'cpu = "host" with KVM')
    return Check(
        "cpu",
        FAIL,
        f'cpu = "host" needs KVM, and KVM is not usable here: {kvm_problem}',
        'cpu = "max" (works under TCG and KVM alike), or leave cpu out',
    )
