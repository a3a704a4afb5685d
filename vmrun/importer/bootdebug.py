"""The script's boot order, serial ports and gdb stub: ``boot``/``boot_menu``, ``[[serials]]``, ``gdb``.

Each is taken only where vmrun's key gives QEMU the same thing; otherwise the option stays in
extra_args, saying why. The first serial port (ttyS0) is vmrun's console, so the script's first
``-serial`` is dropped; the ports after it are ``[[serials]]`` (ttyS1...) when every one of them has
a key, else all of them stay in extra_args, where QEMU numbers them after vmrun's console as the
script's QEMU did. Addresses keep the script's meaning: an empty host (``tcp::1234``, ``-s``) is
all addresses, imported as ``0.0.0.0`` and noted, as SPICE and forwards are.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from typing import Any

from vmrun.importer.options import Mapper, Opt, Unfit, boolean, parse_opts
from vmrun.profile.checks import MAX_SERIALS

_LETTERS = {"c": "disk", "d": "cdrom", "n": "network"}
_CONSOLE = "vmrun gives the first serial port (ttyS0) to vmrun console and vmrun log"


def map_boot(m: Mapper) -> None:
    """``-boot order=dc,menu=on`` or ``-boot d``; after the firmware and the kernel are known."""
    for opt in m.named("-boot"):
        if opt.value is None:
            continue
        try:
            order, menu = _boot(opt)
            if order and m.profile.get("firmware") == "uefi":
                raise Unfit("OVMF ignores -boot order= (it follows bootindex), so vmrun's boot would change it")
            if order and "kernel" in m.profile:
                raise Unfit("the kernel given with -kernel boots before any boot order")
        except Unfit as e:
            m.keep(opt, str(e))
            continue
        m.take(opt, "boot")
        if order:
            m.set("boot", order, opt.value)
        if menu is not None:
            m.set("boot_menu", menu, opt.value)
        said = [f"boot = {json.dumps(order)}"] * bool(order) + [f"boot_menu = {str(menu).lower()}"] * (menu is not None)
        m.note(opt.line, f"{opt}: imported as {', '.join(said)}")


def _boot(opt: Opt) -> tuple[list[str], bool | None]:
    head, pairs = parse_opts(opt.text, "order")
    keys = dict(pairs)
    unknown = sorted(set(keys) - {"menu"})
    if unknown:
        raise Unfit(f"vmrun has no key for -boot's {', '.join(unknown)}")
    letters = head or ""
    if any(c not in _LETTERS for c in letters) or len(set(letters)) != len(letters):
        raise Unfit(f"order={letters}: vmrun's boot orders c (disk), d (cdrom) and n (network), each once")
    menu = boolean("menu", keys["menu"]) if "menu" in keys else None
    return [_LETTERS[c] for c in letters], menu


def map_serials(m: Mapper) -> None:
    """Each -serial is the next ttyS, ``none`` too (it leaves that port out): the first is vmrun's console."""
    ports = [o for o in m.named("-serial") if o.value is not None]
    if not ports:
        return
    m.take(ports[0], "dropped")
    m.note(ports[0].line, f"{ports[0]}: dropped: {_CONSOLE}")
    console = _chardev(m, ports[0])
    if console is not None and _used_once(m, console):
        m.take(console, "dropped")
        m.note(console.line, f"{console}: dropped with the console port that used it")
    while len(ports) > 1 and ports[-1].text == "none":  # the last ports left out: nothing to give
        m.take(ports[-1], "dropped")
        m.note(ports[-1].line, f"{ports[-1]}: dropped: it leaves out a port no later one needs")
        ports.pop()
    rest = ports[1:]
    tables, notes = [], []
    bad = None
    try:
        if len(rest) > MAX_SERIALS:
            raise Unfit(f"vmrun has {MAX_SERIALS} serial ports besides its console, the script {len(rest)}")
        for bad in rest:
            tables.append(_serial(m, bad, notes))
    except Unfit as e:
        for opt in rest:
            why = str(e) if opt is bad or bad is None else f"{bad} cannot be a [[serials]] table ({e})"
            m.keep(opt, f"{why}; the ports after the console stay in extra_args together, numbered as in the script")
        return
    for i, (opt, table) in enumerate(zip(rest, tables, strict=True)):
        m.take(opt, "serial")
        backend = _chardev(m, opt)
        if backend is not None:
            m.take(backend, "serial")
        m.note(opt.line, f"{opt}: imported as [[serials]] ttyS{i + 1} (type = {table['type']!r})")
    m.notes += notes
    if tables:
        m.profile.setdefault("serials", []).extend(tables)


def map_isa_serials(m: Mapper) -> None:
    """vmrun's own form, as `vmrun show` prints it: ``-chardev ...,id=ID`` and ``-device
    isa-serial,chardev=ID,index=N`` with N = 1, 2, 3: [[serials]] ttyS1... when every port has a key."""
    devices = [o for o in m.named("-device") if parse_opts(o.text, "driver")[0] == "isa-serial"]
    if not devices:
        return
    notes: list[tuple[int | None, str]] = []
    try:
        if len([o for o in m.opts if o.name == "-serial"]) > 1:
            raise Unfit("the script's -serial ports take ttyS1 and up too")
        ordered = sorted(devices, key=_isa_index)
        if [_isa_index(o) for o in ordered] != list(range(1, len(ordered) + 1)) or len(ordered) > MAX_SERIALS:
            raise Unfit(f"vmrun's [[serials]] are ttyS1 to ttyS{MAX_SERIALS} without a gap (index=1, 2, 3)")
        tables = [_serial(m, _as_serial_option(o), notes) for o in ordered]
    except Unfit as e:
        for opt in devices:
            m.keep(opt, str(e))
        return
    for i, (opt, table) in enumerate(zip(ordered, tables, strict=True)):
        m.take(opt, "serial")
        backend = _chardev(m, _as_serial_option(opt))
        if backend is not None:
            m.take(backend, "serial")
        m.note(opt.line, f"{opt}: imported as [[serials]] ttyS{i + 1} (type = {table['type']!r})")
    m.notes += notes
    m.profile.setdefault("serials", []).extend(tables)


def _isa_index(opt: Opt) -> int:
    """An isa-serial's index; Unfit unless it says only chardev= and index=."""
    keys = dict(parse_opts(opt.text, "driver")[1])
    if set(keys) != {"chardev", "index"} or not keys["index"].isdigit():
        raise Unfit("vmrun's serial port devices say chardev= and index= only")
    return int(keys["index"])


def _as_serial_option(opt: Opt) -> Opt:
    """``-device isa-serial,chardev=ID,...`` as the ``-serial chardev:ID`` it stands for."""
    assert opt.value is not None
    chardev_id = dict(parse_opts(opt.text, "driver")[1])["chardev"]
    return replace(opt, value=replace(opt.value, text=f"chardev:{chardev_id}"))


def _serial(m: Mapper, opt: Opt, notes: list[tuple[int | None, str]]) -> dict[str, Any]:
    """QEMU's legacy chardev words: ``pty``, ``file:PATH``, ``tcp:HOST:PORT,server,nowait``, ``unix:PATH,server``."""
    assert opt.value is not None
    kind, _, rest = opt.text.partition(":")
    if kind == "chardev":
        backend = _chardev(m, opt)
        if backend is None or not _used_once(m, backend):
            raise Unfit(f"its -chardev {rest} is not in the script, or another option uses it too")
        return _serial(m, replace(opt, value=replace(opt.value, text=_legacy_words(backend))), notes)
    if kind == "none":
        raise Unfit("it leaves this port out, and vmrun's [[serials]] are ttyS1, ttyS2, ... without a gap")
    if kind == "pty" and not rest:
        return {"type": "pty"}
    if kind == "file" and rest:
        return {"type": "file", "path": m.path(replace(opt.value, text=rest), "-serial")}
    if kind not in ("tcp", "telnet", "unix"):
        raise Unfit("vmrun's serial ports are tcp, telnet, unix, file or pty")
    where, settings = _head(rest)
    found = dict(("wait", "off") if k == "nowait" else (k, v) for k, v in parse_opts(settings)[1])
    if not boolean("server", found.pop("server", "off")):
        raise Unfit("a client connection; vmrun's serial ports listen")
    wait = boolean("wait", found.pop("wait", "on"))
    found.pop("nodelay", None)
    if found:
        raise Unfit(f"vmrun has no key for {', '.join(sorted(found))}")
    if wait:
        notes.append(
            (opt.line, f"{opt}: QEMU waited for a client before starting the guest; vmrun's port does not wait")
        )
    if kind == "unix":
        return {"type": "unix", "path": m.path(replace(opt.value, text=where), "-serial")}
    addr, port = _endpoint(opt, where, notes)
    return {"type": kind, "port": port, "addr": addr}


def _head(text: str) -> tuple[str, str]:
    """``PATH,server=on`` -> (PATH, "server=on"); a doubled comma is one comma of PATH, as QEMU reads it."""
    i = 0
    while (i := text.find(",", i)) != -1 and text[i + 1 : i + 2] == ",":
        i += 2
    return (text, "") if i == -1 else (text[:i].replace(",,", ","), text[i + 1 :])


def _chardev(m: Mapper, opt: Opt) -> Opt | None:
    """The -chardev of a ``-serial chardev:ID``."""
    kind, _, chardev_id = opt.text.partition(":")
    if kind != "chardev":
        return None
    return next((o for o in m.opts if o.name == "-chardev" and _id(o) == chardev_id), None)


def _id(opt: Opt) -> str | None:
    return dict(parse_opts(opt.text, "backend")[1]).get("id")


def _used_once(m: Mapper, chardev: Opt) -> bool:
    chardev_id = _id(chardev)
    uses = [o for o in m.opts if o is not chardev and o.value is not None and chardev_id in _ids_named(o.text)]
    return len(uses) == 1


def _ids_named(text: str) -> set[str]:
    """The ids an option's value names: ``chardev:ID``, ``chardev=ID``."""
    return {text.partition(":")[2]} | {p.partition("=")[2] for p in text.split(",") if p.startswith("chardev=")}


def _legacy_words(chardev: Opt) -> str:
    """A -chardev as -serial's own words (``file:PATH``, ``tcp:HOST:PORT,server=on,wait=off``...), or Unfit."""
    backend, pairs = parse_opts(chardev.text, "backend")
    keys = {k: v for k, v in pairs if k != "id"}
    if backend == "pty" and not keys:
        return "pty"
    if backend == "file" and set(keys) == {"path"}:
        return f"file:{keys['path']}"
    if backend == "socket":
        telnet = boolean("telnet", keys.pop("telnet", "off"))
        if "path" in keys:
            where, kind = keys.pop("path").replace(",", ",,"), "unix"  # as QEMU reads unix:PATH,...
        elif "port" in keys:
            where, kind = f"{keys.pop('host', '')}:{keys.pop('port')}", "telnet" if telnet else "tcp"
        else:
            raise Unfit(f"{chardev}: a socket without a port or path")
        return f"{kind}:{where}" + "".join(f",{k}={v}" for k, v in keys.items())
    raise Unfit(f"{chardev}: vmrun's serial ports are a socket, a file or a pty, without more settings")


def _endpoint(opt: Opt, where: str, notes: list[tuple[int | None, str]]) -> tuple[str, int]:
    """``HOST:PORT`` with HOST empty (all addresses) or an IPv4 address."""
    host, _, port = where.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise Unfit(f"{port!r} is not a TCP port")
    if not host:
        notes.append(
            (
                opt.line,
                f"{opt}: no host, so QEMU listens on all addresses: imported as 0.0.0.0 "
                "(anyone who reaches this host has it); write 127.0.0.1 to keep it to this host",
            )
        )
        return "0.0.0.0", int(port)
    try:
        return str(ipaddress.IPv4Address(host)), int(port)
    except ValueError:
        raise Unfit(f"vmrun listens on an IPv4 address, not {host}") from None


def map_gdb(m: Mapper) -> None:
    """``-s`` is ``-gdb tcp::1234``; one stub, on TCP."""
    stubs = [o for o in m.named("-gdb", "-s") if o.name == "-s" or o.value is not None]
    if len(stubs) != 1:
        for opt in stubs:
            m.keep(opt, "more than one gdb stub: vmrun's gdb key is one")
        return
    opt = stubs[0]
    text = "tcp::1234" if opt.name == "-s" else opt.text
    kind, _, where = text.partition(":")
    try:
        if kind != "tcp" or "," in where:
            raise Unfit("vmrun's gdb stub is a TCP port")
        notes: list[tuple[int | None, str]] = []
        addr, port = _endpoint(opt, where, notes)
    except Unfit as e:
        m.keep(opt, str(e))
        return
    m.take(opt, "gdb")
    m.set("gdb", f"{addr}:{port}", opt.value)
    m.notes += notes or [(opt.line, f'{opt}: imported as gdb = "{addr}:{port}"')]
