"""QEMU as the judge of `vmrun import`: what a paused QEMU reports about the hardware it was given.

The corpus scripts (tests/data/import-corpus) are run for real under bash, with
``qemu-system-x86_64``/``kvm``/``qemu-kvm`` replaced by a stub that starts the
real QEMU paused (``-S``), on TCG, with a QMP socket; the import of the same
script is started by `vmrun up` with ``-S`` too. Both sides are then asked the
same questions and the answers are reduced to :class:`Facts`, equal when the
guest would see the same machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "data" / "import-corpus"
VFIO = CORPUS.parent / "import-vfio"  # passthrough scripts: this host has no IOMMU, so both sides refuse
QEMU = "/usr/bin/qemu-system-x86_64"
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"


# --- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    script: Path  # what `vmrun import` reads
    runs: Path  # what bash runs: the script, or its hand-written .modern.sh (QEMU 7.2 refuses vlan=, hvf)
    args: tuple[str, ...]  # judge-args: the script's arguments, given to the import after `--`
    files: tuple[str, ...]  # judge-files: made in the script's folder
    host: tuple[tuple[str, ...], ...]  # judge-host: links made in the namespace first

    @property
    def id(self) -> str:
        return self.script.stem


def cases(folder: Path = CORPUS) -> list[Case]:
    out = []
    for script in sorted(folder.glob("*.sh")):
        if script.name.endswith(".modern.sh"):
            continue
        header = _header(script)
        modern = script.with_name(script.stem + ".modern.sh")
        host = tuple(tuple(part.split()) for part in header.get("host", "").split(";") if part.strip())
        out.append(
            Case(
                script,
                modern if modern.exists() else script,
                tuple(header.get("args", "").split()),
                tuple(header.get("files", "").split()),
                host,
            )
        )
    return out


def _header(script: Path) -> dict[str, str]:
    found = {}
    for line in script.read_text().splitlines()[1:]:
        m = re.match(r"#\s*judge-(args|files|host):(.*)$", line)
        if not m:
            break
        found[m.group(1)] = m.group(2).strip()
    assert set(found) == {"args", "files", "host"}, f"{script.name}: judge-args/files/host headers after the shebang"
    return found


def make_files(case: Case, folder: Path) -> None:
    for name in case.files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".qcow2"):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
        else:
            path.write_bytes(bytes(1 << 20))


def make_host(case: Case, ns) -> None:
    """``bridge BR``, ``tap TAP [BR]``, ``dummy NAME``: each up, inside the namespace ``ns``; ``ip ARGS``: run."""
    for kind, name, *rest in case.host:
        if kind == "ip":
            ns.ip(name, *rest)
            continue
        if kind == "bridge":
            ns.ip("link", "add", name, "type", "bridge")
        elif kind == "tap":
            ns.ip("tuntap", "add", "dev", name, "mode", "tap")
            if rest:
                ns.ip("link", "set", name, "master", rest[0])
        elif kind == "dummy":
            # A stand-in for a host's NIC. Not the dummy driver: not every test kernel has it (this one
            # does not); a veth with its peer in the same namespace is as good a parent for a macvtap.
            ns.ip("link", "add", name, "type", "veth", "peer", "name", f"{name}p")
            ns.ip("link", "set", f"{name}p", "up")
        else:
            raise AssertionError(f"{case.script.name}: judge-host: unknown link kind {kind!r}")
        ns.ip("link", "set", name, "up")


# --- the script side: stubs on PATH -------------------------------------------------------

_QEMU_STUB = r'''#!{python}
"""Stub for {name}: the script's QEMU, made to run here paused (TCG, no display, QMP on $JUDGE_QMP)."""
import json, os, re, sys

argv, out, i = sys.argv[1:], [], 0
DROP_FLAG = {{"-enable-kvm", "-daemonize", "-nographic", "-S"}}
DROP_VALUE = {{"-monitor", "-display", "-vnc", "-qmp"}}
console = False  # the first serial port (ttyS0) is vmrun's console on the other side: here a null one, in its place
KVM, MACHINE_KVM = (r"^kvm\b(:tcg)?", "tcg"), (r"accel=kvm(:tcg)?", "accel=tcg")
REWRITE = {{"-accel": KVM, "-machine": MACHINE_KVM, "-M": MACHINE_KVM, "-cpu": (r"^host\b", "max")}}
while i < len(argv):
    a = argv[i]
    if a in DROP_FLAG:
        i += 1
        continue
    if a == "-serial" and i + 1 < len(argv) and argv[i + 1] != "none" and not console:
        out += ["-serial", "null"]
        console, i = True, i + 2
        continue
    if a in DROP_VALUE and i + 1 < len(argv):
        i += 2
        continue
    if a in REWRITE and i + 1 < len(argv):
        out += [a, re.sub(*REWRITE[a], argv[i + 1])]
        i += 2
        continue
    out.append(a)
    i += 1
out += ["-S", "-qmp", "unix:" + os.environ["JUDGE_QMP"] + ",server=on,wait=off", "-display", "none"]
with open(os.environ["JUDGE_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv, "runs": out}}) + "\n")
os.execv({qemu!r}, [{qemu!r}] + out)
'''

# udev's part: the macvtap recipe opens /dev/tapIFINDEX, a node only udev makes (there is none here).
_IP_STUB = r'''#!{python}
"""Stub for ip: the real one, then the /dev/tapN nodes udev would make for new macvtaps."""
import os, stat, subprocess, sys
from pathlib import Path

rc = subprocess.call([{ip!r}] + sys.argv[1:])
for dev in Path("/sys/class/net").glob("*/macvtap/tap*/dev"):
    node = Path("/dev") / dev.parent.name
    if not node.exists():
        major, minor = (int(x) for x in dev.read_text().split(":"))
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(major, minor))
        with open(os.environ["JUDGE_NODES"], "a") as f:
            f.write(str(node) + "\n")
sys.exit(rc)
'''


def write_stubs(folder: Path) -> Path:
    folder.mkdir()
    for name in ("qemu-system-x86_64", "kvm", "qemu-kvm"):
        (folder / name).write_text(_QEMU_STUB.format(python=sys.executable, name=name, qemu=QEMU))
    (folder / "ip").write_text(_IP_STUB.format(python=sys.executable, ip=shutil.which("ip") or "/usr/sbin/ip"))
    (folder / "sudo").write_text('#!/bin/sh\n[ "$1" = -E ] && shift\nexec "$@"\n')
    # The helper daemons a script starts itself: the real ones (Debian keeps virtiofsd off PATH).
    (folder / "swtpm").write_text(f'#!/bin/sh\nexec {shutil.which("swtpm") or "/usr/bin/swtpm"} "$@"\n')
    (folder / "virtiofsd").write_text(f'#!/bin/sh\nexec {VIRTIOFSD} "$@"\n')
    for stub in folder.iterdir():
        stub.chmod(0o755)
    return folder


def remove_nodes(listing: Path) -> None:
    if listing.exists():
        for line in listing.read_text().split():
            node = Path(line)
            if node.exists() and stat.S_ISCHR(node.stat().st_mode):
                node.unlink()


def qemu_pid(ns) -> int:
    """The one QEMU in the namespace (found by its program: `-name process=` renames it)."""
    found = []
    for pid in ns.pids():
        try:
            if os.readlink(f"/proc/{pid}/exe").endswith("/qemu-system-x86_64"):
                found.append(pid)
        except OSError:
            pass
    assert len(found) == 1, f"QEMUs in the namespace: {found}"
    return found[0]


def host_links(ns) -> list[tuple]:
    """The taps and macvtaps QEMU holds open, each as (kind, bridge it is in / parent and mode).

    Their names are left out: vmrun names the taps it makes its own way. Read from QEMU's open
    files (a tun file's fdinfo names its tap; a macvtap's node is matched by device number), so
    a tap opened by a helper or passed as an fd counts too.
    """
    pid = qemu_pid(ns)
    links = {link["ifname"]: link for link in json.loads(ns.run("ip", "-j", "-d", "link", "show", check=True).stdout)}
    devs = ns.run("sh", "-c", 'for f in /sys/class/net/*/macvtap/*/dev; do [ -e "$f" ] && echo "$f $(cat "$f")"; done')
    macvtaps = {}
    for line in devs.stdout.splitlines():
        path, number = line.split()
        macvtaps[tuple(int(x) for x in number.split(":"))] = path.split("/")[4]
    held: dict[str, tuple] = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target, st = os.readlink(fd), fd.stat()
        except OSError:
            continue
        if target == "/dev/net/tun":
            m = re.search(r"^iff:\s*(\S+)", Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text(), re.M)
            if m:
                held[m.group(1)] = ("tap", links.get(m.group(1), {}).get("master", "-"))
        elif stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) in macvtaps:
            name = macvtaps[(os.major(st.st_rdev), os.minor(st.st_rdev))]
            link = links.get(name, {})
            mode = link.get("linkinfo", {}).get("info_data", {}).get("mode", "?")
            held[name] = ("macvtap", link.get("link", "?"), mode)
    return sorted(held.values())


def macvtap_macs(ns) -> set[str]:
    """The MACs of the macvtaps in the namespace ``ns``."""
    out = ns.run("ip", "-j", "-d", "link", "show", check=True).stdout
    return {link["address"] for link in json.loads(out) if link.get("linkinfo", {}).get("info_kind") == "macvtap"}


# --- QMP ----------------------------------------------------------------------------------


class RawQmp:
    """The few QMP calls the judge needs, over the script's QEMU's socket (no event loop)."""

    def __init__(self, path: Path, timeout: float = 10) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())  # the greeting
        self("qmp_capabilities")

    def __call__(self, command: str, arguments: dict | None = None):
        msg = {"execute": command, **({"arguments": arguments} if arguments else {})}
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise AssertionError(f"QMP closed during {command}")
            reply = json.loads(line)
            if "error" in reply:
                raise AssertionError(f"QMP {command}: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def close(self) -> None:
        # Both: the socket stays open while its file object is; QEMU serves one QMP client at a time.
        self.file.close()
        self.sock.close()


def connect(path: Path, proc: subprocess.Popen, log: Path, timeout: float = 30) -> RawQmp:
    """The script's QEMU's QMP, once it listens; the script's output if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return RawQmp(path)
        except (OSError, ValueError):  # not there yet, or QEMU going away
            if proc.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # what QEMU said on its way out
                raise AssertionError(
                    f"the script's QEMU never answered on QMP (script rc={proc.poll()}):\n{log.read_text()}"
                ) from None
            time.sleep(0.05)


# --- the facts ----------------------------------------------------------------------------


@dataclass
class Facts:
    pci: list[tuple] = field(default_factory=list)
    macs: list[str] = field(default_factory=list)
    block: list[tuple] = field(default_factory=list)
    memory: int = 0
    cpus: int = 0
    network: list[tuple] = field(default_factory=list)
    forwards: list[tuple] = field(default_factory=list)
    links: list[tuple] = field(default_factory=list)  # the host's side: see host_links
    tpm: list[tuple] = field(default_factory=list)  # (model, backend type) of each TPM
    boot: dict = field(default_factory=dict)  # the machine's boot order, once and menu (-boot)
    serials: list[tuple] = field(default_factory=list)  # (ttyS index, what it is on the host) after the console

    def own_macs(self, macvtaps: set[str]) -> Facts:
        """A NIC given its macvtap's own MAC (the recipe's ``mac=$(cat .../address)``) is compared as such:
        each side made its own macvtap, with its own random address."""

        def mac(m: str) -> str:
            return "(its macvtap's)" if m in macvtaps else m

        self.macs = sorted(mac(m) for m in self.macs)
        self.network = sorted((model, mac(m), backend) for model, m, backend in self.network)
        return self


def collect(qmp, cwd: Path, ns) -> Facts:
    """Ask ``qmp`` (a callable: command, arguments -> return) what the guest would see, ``ns`` what the host has."""

    def hmp(line: str) -> str:
        return qmp("human-monitor-command", {"command-line": line})

    return Facts(
        pci=_pci(qmp("query-pci")),
        macs=sorted(f["main-mac"] for f in qmp("query-rx-filter")),
        block=_block(qmp("query-block"), cwd, qmp),
        memory=qmp("query-memory-size-summary")["base-memory"],
        cpus=len(qmp("query-cpus-fast")),
        network=network(hmp("info network")),
        forwards=forwards(hmp("info usernet")),
        links=host_links(ns),
        tpm=sorted((t["model"], t["options"]["type"]) for t in qmp("query-tpm")),
        boot=qmp("qom-get", {"path": "/machine", "property": "boot"}),
        serials=serials(qmp, cwd),
    ).own_macs(macvtap_macs(ns))


def serials(qmp, cwd: Path) -> list[tuple]:
    """The ISA serial ports but ttyS0 (each side's console), by index, with their host side as QEMU names it
    (a Unix socket's path taken from ``cwd``, where QEMU ran, as the drives' files are)."""
    hosts = {c["label"]: c["filename"].removeprefix("disconnected:") for c in qmp("query-chardev")}
    out = []
    for folder in ("/machine/unattached", "/machine/peripheral", "/machine/peripheral-anon"):
        for child in qmp("qom-list", {"path": folder}):
            if child["type"] != "child<isa-serial>":
                continue
            path = f"{folder}/{child['name']}"
            index = qmp("qom-get", {"path": path, "property": "index"})
            host = hosts.get(qmp("qom-get", {"path": path, "property": "chardev"}), "?")
            if host.startswith("unix:"):
                path, comma, rest = host.removeprefix("unix:").partition(",")
                host = f"unix:{os.path.realpath(cwd / path)}{comma}{rest}"
            if index:
                out.append((index, "pty" if host.startswith("pty:") else host))
    return sorted(out)


def _pci(buses: list[dict]) -> list[tuple]:
    out: list[tuple] = []

    def walk(bus: int, devices: list[dict]) -> None:
        for d in devices:
            if (d.get("qdev_id") or "").startswith("vmrun-hp") or d.get("qdev_id") == "vmrun-agent":
                continue  # vmrun's own spare hot-plug ports on q35, and its guest agent's port (agent = true)
            ids = f"{d['id']['vendor']:04x}:{d['id']['device']:04x}"
            out.append((bus, d["slot"], d["function"], ids, d["class_info"].get("desc") or d["class_info"]["class"]))
            bridge = d.get("pci_bridge")
            if bridge and bridge.get("devices"):
                walk(bridge["bus"]["secondary"], bridge["devices"])

    for bus in buses:
        walk(bus["bus"], bus["devices"])
    return sorted(out)


# snapshot=on: QEMU's temporary overlay, named as a file in /var/tmp or as a json: pseudo-file holding it.
_TEMP_OVERLAY = re.compile(r'^(/var/tmp/vl\.|json:.*"filename": "/var/tmp/vl\.)')


# The names QEMU gives the drives of -drive if=ide/virtio/scsi/..., -cdrom, -hda: where the guest sees them.
_LEGACY_DRIVE = re.compile(r"^(ide\d+-(hd|cd)\d+|scsi\d+-(hd|cd)\d+|virtio\d+|floppy\d+|sd\d+|pflash\d+|mtd\d+)$")


def _block(devices: list[dict], cwd: Path, qmp) -> list[tuple]:
    """Each drive by where the guest sees it (see _drive_name), with its removable flag and medium."""
    out = []
    for d in devices:
        name = _drive_name(d, qmp)
        ins = d.get("inserted")
        media = None
        if ins and d["device"].startswith("pflash"):
            # UEFI's code and variables: vmrun picks the code from QEMU's firmware descriptors and keeps a
            # copy of the script's variables (as qcow2) in the VM's data folder: only the mode compares.
            media = ("(firmware)", "ro" if ins["ro"] else "rw", "(firmware)")
        elif ins:
            image = ins["image"]
            while _TEMP_OVERLAY.match(image["filename"]) and "backing-image" in image:
                image = image["backing-image"]  # snapshot=on: the file under the overlay
            path = os.path.realpath(cwd / image["filename"])
            media = (image["format"], "ro" if ins["ro"] else "rw", path)
        out.append((name, "removable" if d["removable"] else "fixed", media))
    return sorted(out, key=repr)


def _drive_name(d: dict, qmp) -> str:
    """An IDE/SATA drive by its device, port and unit; another by QEMU's name for a -drive if=virtio/scsi/...,
    else by the -device it is on. A drive's id is the host's word (the script's "root" on ide0-hd0, its
    "system" on the port vmrun calls "vmrun-sata0"), not something the guest sees."""
    name, qdev = d["device"], d.get("qdev")
    if not qdev:
        return name
    kind = qmp("qom-get", {"path": qdev, "property": "type"})
    if kind in ("ide-hd", "ide-cd"):
        port = qmp("qom-get", {"path": qdev, "property": "parent_bus"}).rsplit(".", 1)[-1]
        return f"{kind} on port {port}, unit {qmp('qom-get', {'path': qdev, 'property': 'unit'})}"
    return name if _LEGACY_DRIVE.match(name) else f"-device {kind}"


_CLIENT = re.compile(r"^(?:hub\d+port\d+: )?([^:]+): (?:index=\d+,)?(.*)$")


def _client(text: str) -> tuple[str, dict[str, str]]:
    m = _CLIENT.match(text.strip().removeprefix("\\ ").strip())
    assert m, f"unexpected `info network` line: {text!r}"
    attrs = dict(p.partition("=")[::2] for p in m.group(2).split(",") if p)
    return m.group(1), attrs


def network(text: str) -> list[tuple]:
    """``info network`` as sorted (NIC model, MAC, backend types): hubs and port names left out.

    QEMU prints a hub as ``hub N`` over its ports (NICs and backends alike), a NIC
    joined straight to its backend as the NIC over `` \\ BACKEND``, and a backend
    no NIC uses on its own line.
    """
    groups: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            groups[-1].append(line)
        else:
            groups.append([line])
    out = []
    for group in groups:
        head, rest = group[0], group[1:]
        members = [_client(x)[1] for x in rest] if re.match(r"^hub \d+", head) else [_client(x)[1] for x in group]
        nics = [m for m in members if m.get("type") == "nic"]
        backends = "+".join(sorted(m.get("type", "?") for m in members if m.get("type") != "nic")) or "none"
        if len(nics) > 1:
            backends += f" (one hub, {len(nics)} NICs)"
        for nic in nics:
            out.append((nic.get("model", "?"), nic.get("macaddr", "?"), backends))
        if not nics:
            out.append(("-", "-", backends))
    return sorted(out)


def forwards(text: str) -> list[tuple]:
    """Host forwards from ``info usernet``: (protocol, host port, guest address, guest port).

    The host address is left out: vmrun listens on 127.0.0.1 where a bare ``::`` means all addresses, on purpose.
    """
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[0].endswith("[HOST_FORWARD]"):
            out.append((parts[0].split("[")[0], parts[3], parts[4], parts[5]))
    return sorted(out)
