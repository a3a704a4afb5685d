"""The rest of the VM a script sets up: UEFI firmware, a TPM, shared folders, USB and PCI passthrough.

Each becomes the profile key that makes vmrun do it (``firmware``, ``[tpm]``, ``[[shares]]``,
``[[usb]]``, ``[[pci]]``). The helper daemons the script starts itself (``swtpm socket ... &``,
``virtiofsd ... &``) are read, never run: vmrun starts its own from those keys. What the script
kept of the VM (its UEFI variables file, its swtpm state folder) is copied into the VM's data
folder when the profile is written (:func:`copy_state`), each said in a note.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any

from vmrun.importer.options import Mapper, Opt, Unfit, boolean, is_q35, parse_opts
from vmrun.importer.passthru import map_pci, map_usb
from vmrun.importer.script import HostCommand

# Firmware file names that are UEFI builds (OVMF, edk2); those with Secure Boot compiled in.
_UEFI = re.compile(r"ovmf|edk2|uefi", re.IGNORECASE)
_SECURE = re.compile(r"secboot|\.ms\.|secure|\.snakeoil\.", re.IGNORECASE)


@dataclass(frozen=True)
class StateCopy:
    """A file or folder of the script's VM that becomes the VM's own in its data folder."""

    kind: str  # "nvram" (a raw UEFI variables file) or "tpm" (a swtpm state folder)
    source: str
    line: int


def map_whole_vm(m: Mapper) -> list[StateCopy]:
    """Firmware first (a secure build changes the machine's options), then TPM, shares, USB, PCI."""
    copies = _firmware(m)
    copies += _tpm(m)
    _virtiofs(m)
    _nine_p(m)
    map_usb(m)
    map_pci(m)
    return copies


# --- firmware ---------------------------------------------------------------------------------


def _flash(m: Mapper) -> list[tuple[Opt, str]]:
    """The script's -pflash and -drive if=pflash files, in unit order: code, then variables."""
    out = []
    for opt in m.named("-pflash", "-drive"):
        if opt.value is None:
            continue
        if opt.name == "-pflash":
            out.append((opt, opt.text))
            continue
        keys = dict(parse_opts(opt.text)[1])
        if keys.get("if") == "pflash" and "file" in keys:
            out.append((opt, keys["file"]))
    return out


def _firmware(m: Mapper) -> list[StateCopy]:
    flash = _flash(m)
    bios = [o for o in m.named("-bios") if o.value is not None and _UEFI.search(os.path.basename(o.text))]
    secure_global = [o for o in m.named("-global") if re.search(r"cfi\.pflash01.*secure.*=on", o.text)]
    if flash and _UEFI.search(os.path.basename(flash[0][1])):
        code, rest = flash[0], flash[1:]
    elif bios and not flash:
        code, rest = (bios[-1], bios[-1].text), []
    else:
        return []
    secure = bool(_SECURE.search(os.path.basename(code[1])) or secure_global)
    if secure and not is_q35(m):
        for opt in [code[0], *(o for o, _ in rest), *secure_global]:
            m.keep(opt, "a Secure Boot firmware on a machine other than q35: vmrun's secure_boot needs q35")
        return []
    m.set("firmware", "uefi", code[0].value)
    line = code[0].line
    used = [code[0], *(o for o, _ in rest), *secure_global]
    for opt in used:
        m.take(opt, "firmware")
    what = "with Secure Boot (secure_boot = true)" if secure else "UEFI"
    m.note(line, f'{code[1]}: firmware = "uefi" {what}; vmrun picks OVMF from QEMU\'s firmware descriptors')
    if secure:
        m.set("secure_boot", True)
        _no_smm_twice(m)
    if not rest:
        if code[0].name != "-bios":
            m.note(line, "the script gives no UEFI variables file: the VM starts from the firmware's template")
        return []
    opt, path = rest[0]
    try:
        source = m.path(replace(opt.value, text=path), "the UEFI variables")
    except Unfit as e:
        m.note(opt.line, f"{path}: not copied ({e}); the VM starts from the firmware's template")
        return []
    return [StateCopy("nvram", source, opt.line)]


def _no_smm_twice(m: Mapper) -> None:
    """secure_boot adds smm=on to the machine itself."""
    machine = m.profile.get("machine")
    if isinstance(machine, str):
        parts = [p for p in machine.split(",") if p.replace(" ", "") not in ("smm=on", "smm")]
        m.profile["machine"] = ",".join(parts)


# --- TPM -----------------------------------------------------------------------------------------


def _daemon(m: Mapper, program: str, socket: str) -> HostCommand | None:
    """The script's own ``program`` command that serves ``socket`` (swtpm, virtiofsd)."""
    for cmd in m.script.host_commands:
        words = list(cmd.words)
        names = [os.path.basename(w) for w in words[:4]]
        if program in names and any(socket in w for w in words):
            return cmd
    return None


def _option(words: tuple[str, ...], *names: str) -> str | None:
    """``--name VALUE`` or ``--name=VALUE``, the last one given."""
    found = None
    for i, w in enumerate(words):
        for name in names:
            if w == name and i + 1 < len(words):
                found = words[i + 1]
            elif w.startswith(name + "="):
                found = w[len(name) + 1 :]
    return found


def _chardev_socket(m: Mapper, chardev_id: str) -> tuple[Opt, str] | None:
    for opt in m.named("-chardev"):
        kind, pairs = parse_opts(opt.text, "backend")
        keys = dict(pairs)
        if kind == "socket" and keys.get("id") == chardev_id and "path" in keys:
            return opt, keys["path"]
    return None


def _tpm(m: Mapper) -> list[StateCopy]:
    tpmdevs = m.named("-tpmdev")
    devices = [o for o in m.named("-device") if parse_opts(o.text, "driver")[0] in ("tpm-tis", "tpm-crb")]
    if len(tpmdevs) != 1 or len(devices) != 1:
        return []
    kind, pairs = parse_opts(tpmdevs[0].text, "type")
    keys = dict(pairs)
    if kind != "emulator" or "chardev" not in keys:
        m.keep(tpmdevs[0], f"a {kind} TPM: vmrun's [tpm] is swtpm's emulated one")
        return []
    chardev = _chardev_socket(m, keys["chardev"])
    if chardev is None:
        return []
    swtpm = _daemon(m, "swtpm", chardev[1])
    for opt in (tpmdevs[0], devices[0], chardev[0]):
        m.take(opt, "tpm")
    version = "2.0" if swtpm is None or "--tpm2" in swtpm.words else "1.2"
    m.set("tpm", {"version": version}, tpmdevs[0].value)
    line = tpmdevs[0].line
    if swtpm is None:
        m.note(line, "[tpm]: the swtpm behind it is not in the script; taken as TPM 2.0, started by vmrun")
        return []
    m.note(line, f"[tpm] version = {version!r}, as the swtpm of line {swtpm.line}")
    state = _option(swtpm.words, "--tpmstate")
    folder = dict(p.partition("=")[::2] for p in (state or "").split(",")).get("dir")
    if not folder:
        return []
    return [StateCopy("tpm", os.path.join(m.script.folder, folder), swtpm.line)]


# --- shared folders -----------------------------------------------------------------------------


def _virtiofs(m: Mapper) -> None:
    shares = []
    for dev in m.named("-device"):
        driver, pairs = parse_opts(dev.text, "driver")
        keys = dict(pairs)
        if driver != "vhost-user-fs-pci":
            continue
        chardev = _chardev_socket(m, keys.get("chardev", ""))
        daemon = chardev and _daemon(m, "virtiofsd", chardev[1])
        source = daemon and (_option(daemon.words, "--shared-dir") or _source_option(daemon.words))
        if not chardev or not daemon or not source or "tag" not in keys:
            m.keep(dev, "the virtiofsd behind it, with its shared folder, is not in the script")
            continue
        m.take(dev, "share")
        m.take(chardev[0], "share")
        shares.append({"source": os.path.join(m.script.folder, source), "tag": keys["tag"]})
        m.note(dev.line, f"[[shares]] {keys['tag']!r}: the folder the virtiofsd of line {daemon.line} shares")
    if shares:
        _shared_memory(m)
        m.profile.setdefault("shares", []).extend(shares)


def _source_option(words: tuple[str, ...]) -> str | None:
    """QEMU's C virtiofsd: ``-o source=DIR`` (among other -o options)."""
    for i, w in enumerate(words[:-1]):
        if w == "-o":
            for part in words[i + 1].split(","):
                if part.startswith("source="):
                    return part[len("source=") :]
    return None


def _shared_memory(m: Mapper) -> None:
    """virtiofs needs the guest's memory shared: vmrun gives it its own backend, so the script's goes."""
    backends = []
    for opt in m.named("-object"):
        kind, pairs = parse_opts(opt.text, "qom-type")
        keys = dict(pairs)
        if kind in ("memory-backend-memfd", "memory-backend-file") and boolean("share", keys.get("share", "off")):
            backends.append((opt, keys.get("id")))
    for opt, backend in backends:
        m.take(opt, "share")
        for numa in m.named("-numa"):
            if dict(parse_opts(numa.text, "type")[1]).get("memdev") == backend:
                m.take(numa, "share")
        machine = m.profile.get("machine")
        if isinstance(machine, str) and f"memory-backend={backend}" in machine:
            m.profile["machine"] = ",".join(p for p in machine.split(",") if p != f"memory-backend={backend}")
        m.note(opt.line, f"{opt}: dropped: a virtiofs share gives the guest shared memory itself")


def _nine_p(m: Mapper) -> None:
    shares = []
    fsdevs = {}
    for opt in m.named("-fsdev"):
        kind, pairs = parse_opts(opt.text, "fsdriver")
        keys = dict(pairs)
        if kind == "local" and "id" in keys and "path" in keys:
            fsdevs[keys["id"]] = (opt, keys)
    for dev in m.named("-device"):
        driver, pairs = parse_opts(dev.text, "driver")
        keys = dict(pairs)
        if driver == "virtio-9p-pci" and keys.get("fsdev") in fsdevs and "mount_tag" in keys:
            opt, fs = fsdevs[keys["fsdev"]]
            _share_9p(m, [opt, dev], fs, keys["mount_tag"], shares)
    for opt in m.named("-virtfs"):
        kind, pairs = parse_opts(opt.text, "fsdriver")
        keys = dict(pairs)
        if kind == "local" and "path" in keys and "mount_tag" in keys:
            _share_9p(m, [opt], keys, keys["mount_tag"], shares)
    if shares:
        m.profile.setdefault("shares", []).extend(shares)


def _share_9p(m: Mapper, opts: list[Opt], keys: dict[str, str], tag: str, shares: list[dict[str, Any]]) -> None:
    try:
        source = m.path(replace(opts[0].value, text=keys["path"]), "the 9p share")
        readonly = boolean("readonly", keys.get("readonly", "off"))
    except Unfit as e:
        for opt in opts:
            m.keep(opt, str(e))
        return
    for opt in opts:
        m.take(opt, "share")
    share: dict[str, Any] = {"source": source, "tag": tag, "type": "9p"}
    if readonly:
        share["readonly"] = True
    shares.append(share)
    if "security_model" in keys:
        m.note(opts[0].line, f"security_model={keys['security_model']}: vmrun chooses a 9p share's security model")
