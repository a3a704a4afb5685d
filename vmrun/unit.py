"""`vmrun unit`: a systemd service that starts a profile's VM at boot and powers it off on stop, without libvirt.

``Type=forking`` with ``PIDFile=`` on QEMU's own pid file: `vmrun up` starts
QEMU detached and exits, systemd then watches QEMU itself, so no vmrun stays
resident. ``ExecStop`` is `vmrun down` (ACPI, then quit, then kill), and
``TimeoutStopSec`` is longer than its ``--timeout`` so that systemd's own
SIGKILL never cuts a clean power-off short. The text is a pure function of
its inputs (:func:`render`); finding vmrun and installing are apart.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from vmrun.errors import ProfileError, StateError, UsageError
from vmrun.profile.model import NicType, Profile

STOP_MARGIN = 30  # seconds systemd waits beyond `down --timeout`: `down` still quits and kills after it
START_TIMEOUT = 180  # `up`: host preparation, then up to 30 s until QMP answers, on a busy boot


@dataclass(frozen=True)
class UnitSpec:
    vmrun: str  # absolute
    profile: str  # absolute
    name: str
    timeout: int  # `down --timeout`
    pidfile: str  # as written in the unit: %t is the manager's runtime folder, a literal % is %%
    user: bool  # a user unit (~/.config/systemd/user) rather than a system one
    devices: tuple[str, ...] = ()  # network devices the NICs need (bridges, macvtap parents)
    libvirtd: bool = False  # a NIC on a libvirt network
    runtime_dir: str | None = None  # VMRUN_RUNTIME_DIR the unit must see, if the maker had one


def unit_name(name: str) -> str:
    return f"vmrun-{name}.service"


def quote_arg(arg: str, *, executable: bool = False) -> str:
    """One ExecStart= word as systemd reads it: quoted when needed; % and $ doubled so nothing expands.

    systemd expands no variables in the executable's path (only specifiers), so there $ stays single.
    """
    text = arg.replace("%", "%%") if executable else arg.replace("%", "%%").replace("$", "$$")
    if text and not any(c in text for c in " \t\"'\\;"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_text(text: str) -> str:
    """Inside a double-quoted systemd value: C escapes for \\ and ", and % doubled (specifiers)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def escape_path(path: str) -> str:
    """``systemd-escape --path``: what a device unit for /sys/subsystem/net/devices/NAME is called."""
    out = []
    for i, c in enumerate(path.strip("/")):
        if c == "/":
            out.append("-")
        elif c.isascii() and (c.isalnum() or c in ":_" or (c == "." and i > 0)):
            out.append(c)
        else:
            out.extend(f"\\x{b:02x}" for b in c.encode())
    return "".join(out)


def device_unit(ifname: str) -> str:
    return f"{escape_path(f'/sys/subsystem/net/devices/{ifname}')}.device"


def check_values(spec: UnitSpec) -> None:
    """Refuse control characters in whatever goes into the unit.

    A newline would end the line it is on and start a directive of its own (``ExecStartPre=...``),
    and the header comment has no escapes at all: refusing is simpler and safer than escaping.
    systemd itself refuses quotes and backslashes in the executable's path; say so before it does.
    """
    from vmrun.profile.fields import visible

    def control(value: str) -> str | None:  # visible() escapes exactly the control characters
        c = next((c for c in value if c != visible(c)), None)
        return f"contains a control character (U+{ord(c):04X}); a systemd unit cannot carry it" if c else None

    if problem := control(spec.profile):
        raise ProfileError(problem, source=visible(spec.profile), hint="move the profile to a path without one")
    values = [
        ("the vmrun program's path ", spec.vmrun),
        ("the VM name ", spec.name),
        ("VMRUN_RUNTIME_DIR=", spec.runtime_dir or ""),
        ("PIDFile ", spec.pidfile),
        *(("the NIC device ", d) for d in spec.devices),
    ]
    for what, value in values:
        if problem := control(value):
            raise StateError(f"{what}{visible(value)} {problem}")
    if any(c in spec.vmrun for c in "\"'\\"):
        raise StateError(
            f"the vmrun program's path {spec.vmrun} has a quote or a backslash, which systemd refuses in "
            "an executable's path",
            hint="install vmrun at a path without them",
        )


def render(spec: UnitSpec) -> str:
    """The unit file's text."""
    check_values(spec)
    needs = ["network-online.target", *(device_unit(d) for d in spec.devices)]
    if spec.libvirtd:
        needs.append("libvirtd.service")
    vmrun = quote_arg(spec.vmrun, executable=True)
    start = " ".join([vmrun, *(quote_arg(a) for a in ["up", spec.profile])])
    stop = " ".join([vmrun, *(quote_arg(a) for a in ["down", spec.name, "--timeout", str(spec.timeout)])])
    env = [f'Environment="VMRUN_RUNTIME_DIR={_quoted_text(spec.runtime_dir)}"'] if spec.runtime_dir else []
    lines = [
        f"# Written by `vmrun unit {spec.name}`: starts the VM of {spec.profile} at boot.",
        "[Unit]",
        f"Description=vmrun VM {spec.name}",
        f"Wants={' '.join(needs)}",
        f"After={' '.join(needs)}",
        "",
        "[Service]",
        # `vmrun up` starts QEMU detached and exits; systemd then follows QEMU through its own pid file.
        "Type=forking",
        f"PIDFile={spec.pidfile}",
        *env,
        f"ExecStart={start}",
        f"ExecStop={stop}",
        f"TimeoutStartSec={START_TIMEOUT}",
        f"TimeoutStopSec={spec.timeout + STOP_MARGIN}",
        "",
        "[Install]",
        f"WantedBy={'default.target' if spec.user else 'multi-user.target'}",
        "",
    ]
    return "\n".join(lines)


def find_vmrun() -> str:
    """The absolute path of the vmrun running now (the one the unit was made by), else the one on PATH."""
    me = Path(sys.argv[0])
    if me.name == "vmrun" and me.is_file():
        return str(me.resolve())
    found = shutil.which("vmrun")
    if found:
        return str(Path(found).resolve())
    raise StateError(
        "cannot tell where the vmrun program is: ExecStart= needs its absolute path",
        hint="run vmrun itself (not python -m vmrun), or put it on PATH: pipx install .",
    )


def spec_for(profile: Profile, *, timeout: int, vmrun: str | None = None, user: bool | None = None) -> UnitSpec:
    from vmrun import engines

    engines.check_boot_unit(profile)
    if timeout < 1:
        raise UsageError("must be at least 1 second", option="--timeout")
    user = os.geteuid() != 0 if user is None else user
    runtime = os.environ.get("VMRUN_RUNTIME_DIR")
    if runtime:
        pidfile = str(Path(runtime).absolute() / profile.name / "qemu.pid").replace("%", "%%")
    else:
        # %t is /run for the system manager and $XDG_RUNTIME_DIR for a user's: where rundir.py puts run folders.
        pidfile = f"%t/vmrun/{profile.name}/qemu.pid"
    devices: list[str] = []
    for nic in profile.nics:
        dev = (
            nic.parent
            if nic.type is NicType.MACVTAP
            else nic.bridge
            if nic.type in (NicType.BRIDGE, NicType.OVS)
            else None
        )
        if dev and dev not in devices:
            devices.append(dev)
    return UnitSpec(
        vmrun=vmrun or find_vmrun(),
        profile=os.path.abspath(profile.source),
        name=profile.name,
        timeout=timeout,
        pidfile=pidfile,
        user=user,
        devices=tuple(devices),
        libvirtd=any(n.type is NicType.NETWORK for n in profile.nics),
        runtime_dir=str(Path(runtime).absolute()) if runtime else None,
    )


def install_path(name: str, *, user: bool) -> Path:
    if not user:
        return Path("/etc/systemd/system") / unit_name(name)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "systemd" / "user" / unit_name(name)


def write(path: Path, text: str) -> None:
    from vmrun.files import replace_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        from vmrun.errors import FileError

        raise FileError.from_os(e, path.parent, doing="cannot create") from None
    replace_file(path, text, mode=0o644)


def enable_hint(name: str, *, user: bool) -> str:
    ctl = "systemctl --user" if user else "systemctl"
    hint = f"{ctl} daemon-reload && {ctl} enable {unit_name(name)}"
    if user:
        hint += f"   (and once: loginctl enable-linger {os.environ.get('USER', '$USER')}, to start without a login)"
    return hint
