"""Round trips: the seed's start.sh through `vmrun import` and `vmrun show`, and generated command lines.

QEMU's meaning is the measure: an old spelling (``-enable-kvm``, a bare
``disable-ticketing``) may change, what QEMU does with it may not.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import string
import tempfile
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import DATA, REPO
from tests.qemuargs import qemu_meaning, seed_argv
from vmrun.cli import app
from vmrun.importer import import_script
from vmrun.importer.script import read_script
from vmrun.profile import load_profile
from vmrun.profile.model import HostFwd
from vmrun.show import describe, render_script

runner = CliRunner()
SEED = DATA / "seed-start.sh"


def test_seed_import_then_show_gives_the_seeds_options(tmp_path):
    out = tmp_path / "jrgtest.toml"
    code = runner.invoke(app, ["import", str(SEED), "-o", str(out)]).exit_code
    assert code == 0
    shown = runner.invoke(app, ["show", str(out), "--json"])
    assert shown.exit_code == 0, shown.stderr
    ours = json.loads(shown.stdout)["argv"]
    seed = seed_argv(SEED)
    assert ours[0] == seed[0]
    assert qemu_meaning(ours, bare_forward="0.0.0.0") == qemu_meaning(seed, bare_forward="0.0.0.0")
    # Not only the same set: vmrun gives the options in the seed's own order.
    assert [line[0] for line in qemu_meaning(ours, bare_forward="0.0.0.0")] == [
        line[0] for line in qemu_meaning(seed, bare_forward="0.0.0.0")
    ]


def test_seed_import_is_the_hand_written_profile_but_for_the_open_forward(tmp_path):
    out = tmp_path / "jrgtest.toml"
    import_script(str(SEED), output=str(out))
    imported = load_profile(str(out))
    written = load_profile(str(REPO / "profiles" / "jrgtest.toml"))
    # The hand-written profile narrows the forward to loopback on purpose; the import keeps QEMU's meaning.
    assert [str(f) for f in imported.nics[0].hostfwd] == ["tcp:0.0.0.0:19888-:22"]
    assert [str(f) for f in written.nics[0].hostfwd] == ["tcp:127.0.0.1:19888-:22"]
    open_forward = (HostFwd("tcp", "0.0.0.0", 19888, "", 22),)
    written_nics = (dataclasses.replace(written.nics[0], hostfwd=open_forward), *written.nics[1:])
    # The script has no guest agent port: the import adds none (agent = false); the shipped profile has one.
    assert imported == dataclasses.replace(written, source=imported.source, nics=written_nics, agent=False)


# --- generated profiles: show, import, show again ---------------------------------------------

_PART = st.text(alphabet=string.ascii_letters + string.digits + " ,._-'\"", min_size=1, max_size=8)
PATHS = st.lists(_PART, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=24)
WORD = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
MACS = st.tuples(*[st.integers(0, 255)] * 5).map(lambda b: "52:" + ":".join(f"{x:02x}" for x in b))
IPS = st.sampled_from(["", "127.0.0.1", "0.0.0.0", "10.0.2.15", "192.168.7.9"])
EXTRA = [
    ["-no-reboot"],
    ["-usb"],
    ["-S"],
    ["-device", "usb-tablet"],
    ["-rtc", "base=utc,clock=host"],
    ["-boot", "once=d"],  # no key: kept (an order is the boot key)
    ["-k", "de"],
    ["-global", "ICH9-LPC.disable_s3=1"],
    ["-vnc", ":3"],
    ["-object", "rng-random,id=rng0,filename=/dev/urandom"],
    ["-device", "virtio-rng-pci,rng=rng0"],
]


@st.composite
def nics(draw: st.DrawFn) -> list[dict]:
    ids = draw(st.lists(WORD, unique=True, max_size=4))
    macs = draw(st.lists(MACS, unique=True, min_size=len(ids), max_size=len(ids)))
    base, stride = draw(st.integers(1, 30000)), draw(st.integers(1, 2000))
    ports = iter(range(base, base + 12 * stride, stride))  # host ports must differ across NICs
    out = []
    for nic_id, mac in zip(ids, macs):
        nic: dict = {"id": nic_id, "model": draw(st.sampled_from(["virtio-net-pci", "e1000", "e1000e", "rtl8139"]))}
        if draw(st.booleans()):
            nic["mac"] = mac
        if draw(st.booleans()):
            nic["type"] = "user"
            if draw(st.booleans()):
                nic["net"] = f"10.{draw(st.integers(0, 255))}.0.0/16"
            if draw(st.booleans()):
                nic["restrict"] = True
            nic["hostfwd"] = [
                f"{draw(st.sampled_from(['tcp', 'udp']))}:{draw(IPS)}:{next(ports)}-{draw(IPS)}:{draw(st.integers(1, 65535))}"
                for _ in range(draw(st.integers(0, 3)))
            ]
        else:
            nic.update(type="bridge", via="helper", bridge="br" + draw(WORD))
            if draw(st.booleans()):
                nic["helper"] = draw(PATHS)
            nic["vhost"] = draw(st.sampled_from(["auto", "on", "off"]))
            if draw(st.booleans()):
                nic["queues"] = draw(st.integers(1, 8))
        out.append(nic)
    return out


@st.composite
def drives(draw: st.DrawFn) -> dict:
    """A disk on any bus, or a CD-ROM (read-only by its nature: no snapshot) on a bus that has CD-ROMs."""
    cdrom = draw(st.booleans())
    buses = ["ide", "sata", "scsi"] if cdrom else ["virtio", "ide", "scsi", "sata"]
    drive: dict = {"file": draw(PATHS)}
    if cdrom:
        drive["media"] = "cdrom"
    if not cdrom or draw(st.booleans()):  # a CD-ROM without interface is on ide
        drive["interface"] = draw(st.sampled_from(buses))
    for key, values in (("format", ["raw", "qcow2"]), ("aio", ["threads", "native"]), ("cache", ["none", "writeback"])):
        if draw(st.booleans()):
            drive[key] = draw(st.sampled_from(values))
    for key in ("readonly",) if cdrom else ("readonly", "snapshot"):
        if draw(st.booleans()):
            drive[key] = True
    return drive


@st.composite
def serials(draw: st.DrawFn, taken: set[int]) -> list[dict]:
    """Up to three ports besides the console, TCP ports unlike each other's and the gdb stub's."""
    out = []
    ports = iter(
        draw(st.lists(st.integers(1, 65535).filter(lambda n: n not in taken), unique=True, min_size=3, max_size=3))
    )
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["tcp", "telnet", "unix", "file", "pty"]))
        serial: dict = {"type": kind}
        if kind in ("tcp", "telnet"):
            serial["port"] = next(ports)
            if draw(st.booleans()):
                serial["addr"] = draw(st.sampled_from(["127.0.0.1", "0.0.0.0", "192.168.7.9"]))
        elif kind == "file" or (kind == "unix" and draw(st.booleans())):  # unix without one: the run folder
            serial["path"] = draw(PATHS)
        out.append(serial)
    return out


@st.composite
def profiles(draw: st.DrawFn) -> dict:
    p: dict = {
        "name": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True)),
        "qemu": draw(
            st.sampled_from(["qemu-system-x86_64", "/usr/bin/qemu-system-x86_64", "/opt/q e,mu/qemu-system-x86_64"])
        ),
        "accel": draw(st.sampled_from(["kvm", "tcg", "auto"])),
        "memory": draw(st.one_of(st.integers(16, 1 << 20), st.integers(1, 64).map(lambda g: f"{g}G"))),
        "smp": draw(st.integers(1, 64)),
        "display": draw(st.sampled_from(["none", "default", "gtk,gl=on", "sdl"])),
        "debug_threads": draw(st.booleans()),
    }
    optional = {
        "machine": st.sampled_from(["pc", "q35", "pc-q35-7.2", "q35,smm=off", "pc,hpet=off"]),
        "hotplug_slots": st.integers(0, 6),
        "process": TEXT,
        "cpu": st.sampled_from(["host", "kvm64,+vmx", "qemu64,-svm,level=13", "max"]),
        "vga": st.sampled_from(["std", "virtio", "qxl", "none"]),
        "kernel": PATHS,
        "initrd": PATHS,
        "append": TEXT,
        "cdrom": PATHS,
        "boot_menu": st.booleans(),
        "gdb": st.sampled_from(["127.0.0.1:1234", "0.0.0.0:1235"]),
        "audio": st.sampled_from(["hda", "ac97"]),
        "tablet": st.booleans(),
        "rtc": st.sampled_from(["utc", "localtime"]),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            p[key] = draw(strategy)
    if "audio" in p:
        p["audio_backend"] = draw(st.sampled_from(["none", "pa", "alsa"]))
    if "kernel" not in p and draw(st.booleans()):  # a kernel boots before any boot order
        p["boot"] = draw(st.lists(st.sampled_from(["cdrom", "disk", "network"]), unique=True, min_size=1))
    if draw(st.booleans()):
        spice = {
            "port": draw(st.integers(1, 65535)),
            "addr": draw(st.sampled_from(["127.0.0.1", "0.0.0.0", "::1"])),
            "ticketing": draw(st.booleans()),
            "vdagent": draw(st.booleans()),
        }
        if spice["ticketing"] and draw(st.booleans()):
            spice["password"] = draw(TEXT)
        p["spice"] = spice
    p["drives"] = [draw(drives()) for _ in range(draw(st.integers(0, 3)))]
    p["serials"] = draw(serials(taken={int(p["gdb"].rpartition(":")[2])} if "gdb" in p else set()))
    p["nics"] = draw(nics())
    p["extra_args"] = [a for opt in draw(st.lists(st.sampled_from(EXTRA), unique_by=tuple, max_size=4)) for a in opt]
    return p


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=profiles())
def test_import_of_what_show_prints_gives_the_same_command(raw):
    with tempfile.TemporaryDirectory() as d:
        source = Path(d) / "gen.toml"
        source.write_text(tomli_w.dumps(raw))
        first = describe(load_profile(str(source)))["argv"]
        script = Path(d) / "start.sh"
        script.write_text(render_script(first, source=str(source)))
        result = import_script(str(script), output=str(Path(d) / "imported.toml"))
        again = describe(load_profile(str(result.path)))["argv"]
    assert again == first
    assert result.profile.get("extra_args", []) == raw["extra_args"]
    assert not [n for n in result.notes if "not imported" in n]


# --- the shell reader alone -----------------------------------------------------------------


def _double_quoted(word: str) -> str:
    return '"' + "".join("\\" + c if c in '\\"$`' else c for c in word) + '"'


def _backslashed(word: str) -> str:
    return "".join(c if c.isalnum() else ("'\n'" if c == "\n" else "\\" + c) for c in word) or "''"


# What a shell treats specially, drawn often; any other character now and then.
SHELLISH = st.one_of(
    st.sampled_from(list(" \t\n$`\"\\'#~*?;&|<>(){}[]=,-")), st.characters(blacklist_categories=("Cs",))
)


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text(alphabet=SHELLISH), max_size=6),
    quote=st.sampled_from([shlex.quote, _double_quoted, _backslashed]),
)
def test_quoted_words_read_back_as_they_were(words, quote):
    text = "qemu-system-x86_64 \\\n  " + " \\\n  ".join(quote(w) for w in words) + "\n"
    script = read_script(text, source="t.sh", folder="/")
    assert [f.text for f in script.argv] == words
