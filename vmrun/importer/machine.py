"""The guest's machine: accelerator, machine type, memory, CPUs, display, name, kernel boot.

Where QEMU and vmrun default differently, the script's meaning is written out:
no -accel is TCG, no -display is ``default``.
"""

from __future__ import annotations

import math
import os

from vmrun.importer.options import Mapper, Opt, Unfit, boolean, parse_opts
from vmrun.profile import fields
from vmrun.profile.fields import render_memory

# What vmrun does instead of these, so they are dropped rather than kept.
DROPPED = {
    "-daemonize": "vmrun up starts QEMU in the background itself",
    "-pidfile": "vmrun keeps the pid itself (vmrun ps)",
    "-monitor": "vmrun keeps QEMU's monitor for itself (vmrun qmp NAME COMMAND)",
    "-qmp": "vmrun keeps QMP for itself (vmrun qmp NAME COMMAND)",
    "-qmp-pretty": "vmrun keeps QMP for itself (vmrun qmp NAME COMMAND)",
    "-nographic": 'vmrun gives the serial console to vmrun console; display = "none"',
}
_SMP_TOPOLOGY = ("sockets", "dies", "clusters", "cores", "threads")
# Other hosts' hardware accelerators: on Linux, KVM is that; vmrun's "auto" uses it where it works.
_FOREIGN_ACCEL = {"hvf": "macOS", "whpx": "Windows", "hax": "Intel HAXM", "nvmm": "NetBSD"}
QEMU_DEFAULT_MEMORY = "128M"


def map_machine(m: Mapper) -> None:
    _name(m)
    _accel(m)
    _memory(m)
    _smp(m)
    for opt in m.named("-cpu"):
        _checked(m, opt, "cpu", fields.parse_cpu)
    for opt in m.named("-vga"):
        _checked(m, opt, "vga", fields.parse_word)
    _display(m)
    for opt in m.named("-kernel", "-initrd"):
        _value(m, opt, lambda o: m.set(o.name[1:], m.path(o.value, o.name[1:]), o.value))
    for opt in m.named("-append"):
        if opt.value:
            m.set("append", opt.text, opt.value)
            m.take(opt)
    for opt in m.named(*DROPPED):
        m.note(opt.line, f"{opt}: dropped: {DROPPED[opt.name]}")
        m.take(opt, "dropped")


def _value(m: Mapper, opt: Opt, apply) -> None:
    if opt.value is None:
        return
    try:
        apply(opt)
    except Unfit as e:
        m.keep(opt, str(e))
        return
    m.take(opt)


def _checked(m: Mapper, opt: Opt, key: str, parser) -> None:
    if opt.value is None:
        return
    try:
        m.set(key, parser(opt.text), opt.value)
    except ValueError as e:
        m.keep(opt, f"not a value the profile's {key} takes ({e})")
        return
    m.take(opt)


def _name(m: Mapper) -> None:
    for opt in m.named("-name"):
        if opt.value is None:
            continue
        head, pairs = parse_opts(opt.text, "guest")
        if head:
            m.script_name = (head, opt.line)
        unknown = []
        for key, value in pairs:
            if key == "process":
                m.set("process", value, opt.value)
            elif key == "debug-threads":
                try:
                    m.set("debug_threads", boolean(key, value), opt.value)
                except Unfit:
                    unknown.append(key)
            else:
                unknown.append(key)
        m.take(opt)
        if unknown:
            m.keep(opt, f"vmrun has no key for {', '.join(unknown)} (QEMU merges it with vmrun's own -name)")


def _accel(m: Mapper) -> None:
    wanted: list[str] = []
    for opt in m.opts:
        if opt.index in m.taken:
            continue
        if opt.name == "-enable-kvm":
            wanted.append("kvm")
            m.take(opt)
        elif opt.name == "-no-kvm":
            wanted.append("tcg")
            m.take(opt)
            m.note(opt.line, '-no-kvm: QEMU 7.2 no longer takes it; it meant TCG: imported as accel = "tcg"')
        elif opt.name == "-accel" and opt.value:
            head, pairs = parse_opts(opt.text, "accel")
            if head in _FOREIGN_ACCEL:
                head = _foreign(m, opt, head)
            if head not in ("kvm", "tcg", "auto"):
                m.keep(opt, f"vmrun runs kvm or tcg, not {head}")
                continue
            wanted.append(head)
            m.take(opt)
            if pairs:
                m.note(
                    opt.line,
                    f"{opt}: the accelerator's settings "
                    f"({','.join(f'{k}={v}' for k, v in pairs)}) have no profile key; not imported",
                )
        elif opt.name in ("-machine", "-M") and opt.value:
            _machine(m, opt, wanted)
    program = os.path.basename(m.script.program.text)
    if not wanted and program in ("kvm", "qemu-kvm"):
        wanted.append("kvm")
    order = list(dict.fromkeys(wanted))
    if order == ["kvm", "tcg"] or "auto" in order:
        m.set("accel", "auto")
    elif order:
        m.set("accel", order[0])
        if len(order) > 1:
            m.note(None, f'the script asks for {" then ".join(order)}; imported as accel = "{order[0]}"')
    else:
        m.set("accel", "tcg")
        m.note(
            m.script.program.line,
            'no -enable-kvm or -accel: QEMU\'s default is TCG, so accel = "tcg"; '
            'write accel = "auto" to use KVM where it works',
        )


def _foreign(m: Mapper, opt: Opt, accel: str) -> str:
    m.note(
        opt.line,
        f"{accel} is {_FOREIGN_ACCEL[accel]}'s accelerator; on Linux that is KVM: imported as "
        'accel = "auto" (KVM where it works, else TCG)',
    )
    return "auto"


def _machine(m: Mapper, opt: Opt, wanted: list[str]) -> None:
    head, pairs = parse_opts(opt.text, "type")
    rest = []
    for key, value in pairs:
        if key == "accel":
            wanted += [_foreign(m, opt, a) if a in _FOREIGN_ACCEL else a for a in value.split(":") if a]
        else:
            rest.append(f"{key}={value}")
    m.take(opt)
    if head is None and not rest:
        return
    text = ",".join([head or "", *rest]) if head else None
    try:
        if text is None:
            raise ValueError("no machine type")
        m.set("machine", fields.parse_qemu_opts(text), opt.value)
    except ValueError as e:
        m.keep(opt, f"not a value the profile's machine takes ({e})")


def _memory(m: Mapper) -> None:
    if not any(o.name == "-m" for o in m.opts) and "memory" not in m.script.filled:
        m.set("memory", QEMU_DEFAULT_MEMORY)
        m.note(
            m.script.program.line,
            f"no -m: QEMU gives the guest {QEMU_DEFAULT_MEMORY}, so memory = "
            f'"{QEMU_DEFAULT_MEMORY}" (vmrun\'s own default would be 1G)',
        )
    for opt in m.named("-m"):
        if opt.value is None:
            continue
        head, pairs = parse_opts(opt.text, "size")
        try:
            mib = fields.parse_memory(head or "")
        except ValueError as e:
            m.keep(opt, f"not a size the profile's memory takes ({e})")
            continue
        m.set("memory", render_memory(mib), opt.value)
        m.take(opt)
        if pairs:
            m.keep(
                opt, "vmrun has no key for " + ", ".join(k for k, _ in pairs) + " (QEMU merges it with vmrun's own -m)"
            )


def _smp(m: Mapper) -> None:
    for opt in m.named("-smp"):
        if opt.value is None:
            continue
        head, pairs = parse_opts(opt.text, "cpus")
        topology = {k: v for k, v in pairs}
        try:
            if head is not None:
                cpus = int(head)
            else:
                cpus = math.prod(int(topology.get(k, "1")) for k in _SMP_TOPOLOGY)
        except ValueError:
            m.keep(opt, "not a CPU count")
            continue
        if not 1 <= cpus <= 4096:
            m.keep(opt, "not a CPU count the profile takes (1-4096)")
            continue
        m.set("smp", cpus, opt.value)
        m.take(opt)
        if pairs:
            m.keep(opt, "vmrun has no key for " + ", ".join(topology) + " (QEMU merges it with vmrun's own -smp)")


def _display(m: Mapper) -> None:
    shown = m.named("-display")
    for opt in shown:
        _checked(m, opt, "display", fields.parse_qemu_opts)
    if not shown:
        # No -display is QEMU's "default" (a window, unless SPICE or VNC is on); -nographic is none.
        m.set("display", "none" if any(o.name == "-nographic" for o in m.opts) else "default")
