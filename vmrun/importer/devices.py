"""SPICE (with its password secret and the vdagent trio) and the disks: -drive, -hdX, -cdrom."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vmrun.argv import CDROM_INDEX, HOTPLUG_PORT
from vmrun.importer.options import Mapper, Opt, Unfit, boolean, is_q35, parse_opts
from vmrun.profile import fields
from vmrun.profile.model import Profile
from vmrun.qemuopts import split

_DRIVE_KEYS = {"file", "if", "format", "aio", "cache", "readonly", "snapshot", "media", "index", "addr"}
_FORMATS = {"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc"}  # driver= a format, as format= says it
_HD = ("-hda", "-hdb", "-hdc", "-hdd", "")
_VDAGENT_PORT = "com.redhat.spice.0"


def map_spice(m: Mapper) -> None:
    found = m.named("-spice")
    if not found:
        return
    opt = found[-1]
    try:
        spice, secret = _spice(m, opt)
    except Unfit as e:
        m.keep(opt, str(e))
        return
    m.take(opt)
    if secret:
        m.take(secret)
    m.set("spice", spice)
    m.origin("spice", opt.value)
    _vdagent(m)


def _spice(m: Mapper, opt: Opt) -> tuple[dict[str, Any], Opt | None]:
    _, pairs = parse_opts(opt.text)
    spice: dict[str, Any] = {}
    secret = None
    for key, value in pairs:
        if key == "port":
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise Unfit(f"port={value} is not a port")
            spice["port"] = int(value)
        elif key == "addr":
            spice["addr"] = value
        elif key == "disable-ticketing":
            spice["ticketing"] = not boolean(key, value)
        elif key == "password":
            spice["password"] = value
        elif key == "password-secret":
            secret, spice["password"] = _secret(m, value)
        else:
            raise Unfit(f"vmrun has no key for SPICE's {key}")
    if "port" not in spice:
        raise Unfit("vmrun's SPICE needs a port=")
    if "addr" not in spice:
        spice["addr"] = "0.0.0.0"
        m.note(
            opt.line,
            '-spice has no addr=, so QEMU listens on all addresses: imported as addr = "0.0.0.0"; '
            'write addr = "127.0.0.1" to keep SPICE to this host',
        )
    if spice.get("ticketing") is False and "password" in spice:
        raise Unfit("both disable-ticketing and a password")
    return {k: spice[k] for k in ("port", "addr", "ticketing", "password") if k in spice}, secret


def _secret(m: Mapper, secret_id: str) -> tuple[Opt, str]:
    for opt in m.named("-object"):
        head, pairs = parse_opts(opt.text, "qom-type")
        keys = dict(pairs)
        if head == "secret" and keys.get("id") == secret_id:
            if set(keys) - {"id", "data", "format"} or keys.get("format", "raw") != "raw" or "data" not in keys:
                raise Unfit(f"the secret {secret_id} is not plain data= (vmrun keeps the password in the profile)")
            return opt, keys["data"]
    raise Unfit(f"there is no -object secret,id={secret_id}")


_AGENT_PORT = "org.qemu.guest_agent.0"


def _vdagent(m: Mapper) -> None:
    """virtio-serial + a spicevmc chardev + its virtserialport: `[spice] vdagent = true`."""
    serial = chardev = port = None
    chardev_id = None
    for opt in m.named("-chardev"):
        head, pairs = parse_opts(opt.text, "backend")
        keys = dict(pairs)
        if head == "spicevmc" and keys.get("name") == "vdagent" and set(keys) <= {"id", "name", "debug"}:
            chardev, chardev_id = opt, keys.get("id")
            break
    for opt in m.named("-device"):
        head, pairs = parse_opts(opt.text, "driver")
        keys = dict(pairs)
        if head in ("virtio-serial", "virtio-serial-pci") and not keys and serial is None:
            serial = opt
        elif head == "virtserialport" and keys == {"chardev": chardev_id, "name": _VDAGENT_PORT}:
            port = opt
    if serial and chardev and port:
        for opt in (serial, chardev, port):
            m.take(opt, "vdagent")
        m.set("spice.vdagent", True)


def map_guest_agent(m: Mapper) -> None:
    """A script's own guest agent port (a virtserialport named org.qemu.guest_agent.0 on a socket chardev)
    becomes vmrun's (``agent`` at its default, true); a script without one gets ``agent = false``, so
    that the import adds no device the script did not have."""
    sockets = {}
    for opt in m.named("-chardev"):
        head, pairs = parse_opts(opt.text, "backend")
        keys = dict(pairs)
        if head == "socket" and keys.get("id"):
            sockets[keys["id"]] = opt
    for opt in m.named("-device"):
        head, pairs = parse_opts(opt.text, "driver")
        keys = dict(pairs)
        if head == "virtserialport" and keys.get("name") == _AGENT_PORT and keys.get("chardev") in sockets:
            m.take(opt, "agent")
            m.take(sockets[keys["chardev"]], "agent")
            _take_agent_controller(m, keys.get("bus", "").removesuffix(".0"))
            m.note(
                opt.line, "the script's guest agent port is vmrun's own (agent = true): its socket is in the run folder"
            )
            return
    m.set("agent", False)


def _take_agent_controller(m: Mapper, controller: str) -> None:
    """The virtio-serial controller of the agent's port, if nothing else sits on it: vmrun adds its own."""
    found = None
    for opt in m.named("-device"):
        head, pairs = parse_opts(opt.text, "driver")
        keys = dict(pairs)
        if head in ("virtio-serial", "virtio-serial-pci") and controller and keys.get("id") == controller:
            found = opt
        elif (keys.get("bus") or "").startswith(f"{controller}."):
            return  # another port shares it
    if found is not None:
        m.take(found, "agent")


def map_hotplug_ports(m: Mapper) -> None:
    """The spare PCIe root ports vmrun gives a q35 guest, as `vmrun show` prints them: hotplug_slots."""
    if not is_q35(m):
        return
    ports = []
    for opt in m.named("-device"):
        head, pairs = parse_opts(opt.text, "driver")
        n = len(ports)
        if head == "pcie-root-port" and pairs == [("id", HOTPLUG_PORT.format(n)), ("chassis", str(100 + n))]:
            ports.append(opt)
    for opt in ports:
        m.take(opt, "hotplug")
    if len(ports) != Profile.hotplug_slots:
        m.set("hotplug_slots", len(ports))
    if not ports:
        line = next((o.line for o in m.opts if o.name in ("-machine", "-M")), None)
        m.note(
            line,
            "q35 without vmrun's spare PCIe root ports, as the script has it: hotplug_slots = 0; "
            f"write hotplug_slots = {Profile.hotplug_slots} to let vmrun nic add plug NICs in",
        )


def map_drives(m: Mapper) -> None:
    drives: list[dict[str, Any]] = []
    for opt in m.named("-drive", "-cdrom", *_HD):
        if opt.value is None:
            continue
        said = len(m.notes)
        try:
            if opt.name == "-drive":
                drive = _drive(m, opt)
            elif opt.name == "-cdrom":
                drive = {"media": "cdrom", "file": m.path(opt.value, "-cdrom"), "index": CDROM_INDEX}
            else:
                drive = {"file": m.path(opt.value, opt.name or "the disk image"), "interface": "ide"}
            if drive.pop("media", None) == "cdrom":
                if _cdrom(m, opt, drive, drives):
                    continue
        except Unfit as e:
            del m.notes[said:]  # what it said of a drive now kept in extra_args as written
            m.keep(opt, str(e))
            continue
        drives.append(drive)
        m.drive_opts.append(opt.index)
        m.take(opt, f"drive:{len(drives) - 1}" if drive["interface"] == "virtio" else "")
        m.origin(f"drives.{len(drives) - 1}", opt.value)
    if drives:
        m.set("drives", drives)


def _drive(m: Mapper, opt: Opt) -> dict[str, Any]:
    _, pairs = parse_opts(opt.text)
    keys = dict(pairs)
    if "boot" in keys:  # qemu-kvm's boot=on, removed: QEMU 7.2 refuses it; BIOS boots the first disk anyway
        keys.pop("boot")
        m.note(opt.line, "boot= on the drive: dropped: QEMU 7.2 no longer takes it (the first disk boots)")
    said = _host_words(m, opt, keys)
    unknown = sorted(set(keys) - _DRIVE_KEYS)
    if unknown:
        raise Unfit(f"vmrun has no key for the drive's {', '.join(unknown)}")
    if "file" not in keys:
        raise Unfit("a drive without a file")
    assert opt.value is not None
    drive: dict[str, Any] = {"file": m.path(replace(opt.value, text=keys["file"]), "the drive")}
    media = keys.get("media", "disk")
    if media == "cdrom":
        drive["media"] = "cdrom"
        drive["index"] = int(keys["index"]) if keys.get("index", "").isdigit() else _ide_index(m, opt)
    elif media != "disk":
        raise Unfit(f"media={media}")
    elif "index" in keys:
        raise Unfit("vmrun has no key for the drive's index")
    # QEMU's default interface is ide; vmrun's is virtio: say it.
    drive["interface"] = keys.get("if", "ide")
    for key, name in (("if", "interface"), ("format", "format"), ("aio", "aio"), ("cache", "cache")):
        if key in keys:
            try:
                drive[name] = fields.parse_word(keys[key])
            except ValueError as e:
                raise Unfit(str(e)) from None
    if drive["interface"] == "none":
        raise Unfit("if=none drives belong to a -device")
    if "addr" in keys:
        if drive["interface"] != "virtio":
            raise Unfit(f"addr= on an if={drive['interface']} drive")
        try:
            drive["addr"] = fields.parse_pci_addr(keys["addr"])
        except ValueError as e:
            raise Unfit(str(e)) from None
    for key in ("readonly", "snapshot"):
        if key in keys and boolean(key, keys[key]):
            drive[key] = True
    for what in said:
        m.note(opt.line, f"{opt}: {what}")
    return drive


def _host_words(m: Mapper, opt: Opt, keys: dict[str, str]) -> list[str]:
    """Drop the drive's words that only the host sees (an id nothing names, a virtio drive's index) and
    read ``driver=FORMAT`` as format=: none of them sinks the disk into extra_args. What it did, to say."""
    said = []
    drive_id = keys.get("id")
    if drive_id is not None and keys.get("if") != "none" and not _named(m, opt, drive_id):
        keys.pop("id")
        said.append(f"id={drive_id} dropped: only the host sees a drive's id, and no other option names it")
    if "index" in keys and keys.get("if") == "virtio":
        said.append(f"index={keys.pop('index')} dropped: a virtio disk's index only names it (virtioN) on the host")
    if keys.get("driver") in _FORMATS and "format" not in keys:
        keys["format"] = keys.pop("driver")
        said.append(f"driver={keys['format']} is the image format: imported as format")
    return said


def _named(m: Mapper, opt: Opt, drive_id: str) -> bool:
    """Whether another option names the drive (a -device's drive=ID, -set drive.ID.KEY=...)."""
    for o in m.opts:
        if o is opt or o.value is None:
            continue
        if o.name == "-set" and o.text.startswith(f"drive.{drive_id}."):
            return True
        if any(part.partition("=")[2] == drive_id for part in split(o.text)):
            return True
    return False


def _ide_index(m: Mapper, opt: Opt) -> int:
    """The IDE index QEMU gives a drive without one: the first one the drives before it left free."""
    used = set()
    for o in m.opts[: opt.index]:
        if o.name in _HD:
            used.add(_HD.index(o.name) if o.name else len(used))
        elif o.name == "-cdrom":
            used.add(CDROM_INDEX)
        elif o.name == "-drive":
            keys = dict(parse_opts(o.text)[1])
            if keys.get("if", "ide") == "ide":
                used.add(int(keys["index"]) if keys.get("index", "").isdigit() else min(set(range(8)) - used))
    return min(set(range(8)) - used)


# What a [[drives]] CD-ROM says besides its file (the cdrom key says nothing more).
_CDROM_DRIVE_KEYS = {"format", "aio", "cache"}


def _cdrom(m: Mapper, opt: Opt, drive: dict[str, Any], drives: list[dict[str, Any]]) -> bool:
    """The first CD-ROM where -cdrom puts it is the ``cdrom`` key (True); another is a ``[[drives]]`` CD-ROM
    (False: ``drive`` is then that table) where vmrun's -drive gives it the same place."""
    index = drive.pop("index")
    settings = set(drive) - {"file", "interface", "readonly"}
    if settings - _CDROM_DRIVE_KEYS:
        raise Unfit("a CD-ROM with settings vmrun's CD-ROM keys do not have")
    interface = drive.get("interface", "ide")
    # How vmrun gives a [[drives]] CD-ROM (if=ide, no index): at index 2 too when there is no cdrom key.
    keys = dict(parse_opts(opt.text)[1]) if opt.name == "-drive" else {}
    as_drive = keys.get("if") == "ide" and "index" not in keys and not any(o.name == "-cdrom" for o in m.opts)
    if "cdrom" not in m.profile and index == CDROM_INDEX and interface == "ide" and not settings and not as_drive:
        m.set("cdrom", drive["file"], opt.value)
        m.take(opt, "cdrom")
        return True
    if interface == "scsi" and "index" not in keys:  # its unit is its place among the scsi drives, as vmrun's
        drive.pop("readonly", None)
        drive["media"] = "cdrom"
        m.note(opt.line, f'{opt}: a CD-ROM besides the first: imported as [[drives]] media = "cdrom" on scsi')
        return False
    if interface != "ide":
        raise Unfit(f"a CD-ROM on if={interface}: vmrun's extra CD-ROMs are IDE ones, or SCSI ones in order")
    # vmrun gives its [[drives]] in order, before the cdrom key (IDE index 2): the k-th IDE one gets index k.
    place = sum(d["interface"] == "ide" for d in drives)
    if index != place or (place == CDROM_INDEX and not as_drive):
        raise Unfit(f"vmrun would put this CD-ROM at IDE index {place}, the script has it at {index}")
    drive.pop("readonly", None)  # a CD-ROM is read-only
    drive["media"] = "cdrom"
    m.note(opt.line, f'{opt}: a CD-ROM besides the first: imported as [[drives]] media = "cdrom" (IDE index {index})')
    return False
