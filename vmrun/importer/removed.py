"""Options QEMU has removed (7.2 refuses them) or kept only for old scripts: into today's keys, or dropped saying why.

``-soundhw`` becomes ``audio``, ``-localtime`` ``rtc``, ``-usbdevice tablet``
``tablet`` (today's forms, ``-rtc`` and ``-device usb-tablet``, stay as written:
where they stand in the argv is the script's; but for vmrun's own forms, everyday.py);
qemu-kvm's tuning flags, which QEMU no longer takes and which change nothing
the guest sees under TCG, are dropped with a note. ``-no-kvm`` is the
accelerator's business (machine.py).
"""

from __future__ import annotations

import re

from vmrun.errors import ScriptError
from vmrun.importer.expand import Field
from vmrun.importer.options import Mapper, Opt

# Removed flags with no key, and why dropping them is right.
DROPPED = {
    "-no-kvm-irqchip": "it kept KVM's interrupt controller in QEMU, a workaround for old host kernels; QEMU 7.2 "
    "no longer takes it (today: -machine kernel-irqchip=off, needed by no current host)",
    "-no-kvm-pit-reinjection": "it tuned KVM's timer for old guests; QEMU 7.2 no longer takes it "
    "(today: -global kvm-pit.lost_tick_policy=discard)",
    "-enable-nesting": "qemu-kvm's switch for nested guests, removed; nesting is the host's kvm module "
    'option (nested=1) and a CPU with vmx/svm (cpu = "host")',
    "-tdf": "qemu-kvm's time drift fix, removed; today -rtc driftfix=slew does it, for Windows guests only",
    "-no-frame": "a window without its frame (SDL), removed in QEMU 6.2; it changed nothing in the guest",
    "-alt-grab": "SDL's grab keys, removed in QEMU 6.2 (today -display sdl,grab-mod=lshift-lctrl-lalt)",
    "-ctrl-grab": "SDL's grab key, removed in QEMU 6.2 (today -display sdl,grab-mod=rctrl)",
    "-show-cursor": "the host's cursor over the window, removed in QEMU 6.2 (today -display sdl,show-cursor=on)",
    "-no-quit": "a window that cannot be closed, removed in QEMU 6.2 (today -display ...,window-close=off)",
    "-enable-fips": "FIPS mode for QEMU's own crypto, removed in QEMU 7.0; it changed nothing in the guest",
    "-tb-size": "the TCG translation cache's size, removed in QEMU 7.2 (today -accel tcg,tb-size=N); "
    "it changed nothing in the guest",
}
# Removed options whose meaning today's QEMU says another way: the script's value -> today's argv.
_REPLACED = {
    "-nodefconfig": lambda v: ["-no-user-config"],
    "-realtime": lambda v: ["-overcommit", v.replace("mlock=", "mem-lock=")] if v.startswith("mlock=") else None,
    "-balloon": lambda v: ["-device", "virtio-balloon"] if v == "virtio" else [] if v == "none" else None,
}
# Removed display switches: the display key.
_DISPLAYS = {"-sdl": "sdl", "-curses": "curses"}
# -soundhw's cards that have a key, best first (``all`` gave every card; hda is the one a guest uses).
_CARDS = {"hda": "hda", "ac97": "ac97", "all": "hda"}


def map_removed(m: Mapper) -> None:
    for opt in m.named(*DROPPED):
        m.take(opt, "dropped")
        m.note(opt.line, f"{opt}: dropped: {DROPPED[opt.name]}")
    for opt in m.named(*_REPLACED):
        _replaced(m, opt)
    _display(m)
    _soundhw(m)
    _clock(m)
    _tablet(m)


def _replaced(m: Mapper, opt: Opt) -> None:
    argv = _REPLACED[opt.name](opt.text)
    if argv is None:
        raise ScriptError(
            f"{opt}: QEMU 7.2 no longer takes {opt.name}, and vmrun knows no form of {opt.text!r} it takes",
            source=m.script.source,
            line=opt.line,
            hint=f"write today's form of {opt} in the script (QEMU's docs/about/removed-features), then import again",
        )
    if argv == [] or argv == ["-no-user-config"] and any(o.name == "-no-user-config" for o in m.opts):
        m.take(opt, "dropped")
        m.note(opt.line, f"{opt}: QEMU 7.2 no longer takes it; dropped: it asked for nothing the script lacks")
        return
    # Today's form in the removed option's place, so that it stays where the script had it in extra_args.
    value = Field(argv[1], opt.line) if len(argv) > 1 else None
    m.opts[opt.index] = new = Opt(opt.index, argv[0], argv[0], value, opt.line)
    m.keep(new, None)
    m.note(opt.line, f"{opt}: QEMU 7.2 no longer takes it: kept in extra_args as today's {' '.join(argv)}")


def _display(m: Mapper) -> None:
    for opt in m.named(*_DISPLAYS):
        m.take(opt, "dropped")
        if any(o.name == "-display" for o in m.opts):
            m.note(opt.line, f"{opt}: QEMU 7.2 no longer takes it; dropped: the script's -display says the display")
            continue
        m.set("display", _DISPLAYS[opt.name])
        m.note(opt.line, f'{opt}: QEMU 7.2 no longer takes it: imported as display = "{_DISPLAYS[opt.name]}"')


_REDIR = re.compile(r"^(?:(tcp|udp):)?(\d+):([^:]*):(\d+)$")


def map_redirects(m: Mapper) -> None:
    """``-redir tcp:2222::22`` (removed in QEMU 3.1): a forward of the one user NIC, as hostfwd."""
    redirs = m.named("-redir")
    if not redirs:
        return
    users = [n for n in m.profile.get("nics", []) if n.get("type") == "user"]
    for opt in redirs:
        match = _REDIR.match(opt.text)
        if len(users) != 1 or match is None:
            why = (
                "it is not proto:hostport:guestaddr:guestport"
                if match is None
                else f"the script has {len(users)} user NICs"
            )
            raise ScriptError(
                f"{opt}: QEMU 7.2 no longer takes -redir, and vmrun cannot turn it into a forward: {why}",
                source=m.script.source,
                line=opt.line,
                hint="write it as hostfwd= on the script's -net user (or -netdev user), then import again",
            )
        proto, host_port, guest, guest_port = match.groups()
        forward = f"{proto or 'tcp'}:0.0.0.0:{host_port}-{guest}:{guest_port}"
        users[0].setdefault("hostfwd", []).append(forward)
        m.take(opt, "dropped")
        m.note(
            opt.line,
            f"{opt}: QEMU 7.2 no longer takes -redir: imported as NIC {users[0]['id']}'s hostfwd {forward} (on all addresses, as -redir listened)",
        )


def _soundhw(m: Mapper) -> None:
    for opt in m.named("-soundhw"):
        if opt.value is None:
            continue
        cards = [c for c in opt.text.split(",") if c]
        chosen = next((_CARDS[c] for c in cards if c in _CARDS), None)
        m.take(opt, "dropped")
        others = [c for c in cards if c not in _CARDS]
        if chosen is None:
            m.note(
                opt.line,
                f"{opt}: dropped: QEMU 7.2 no longer takes -soundhw, and vmrun's audio key has hda and ac97, "
                f"not {', '.join(cards)} (write -audiodev and -device in extra_args for it)",
            )
            continue
        m.set("audio", chosen, opt.value)
        m.note(
            opt.line,
            f'{opt}: QEMU 7.2 no longer takes -soundhw: imported as audio = "{chosen}", which vmrun gives '
            'as -audiodev + -device; audio_backend = "none" plays nowhere: write "pa" or "alsa" to hear it'
            + (f" ({', '.join(others)} not imported: no key)" if others else ""),
        )


def _clock(m: Mapper) -> None:
    for opt in m.named("-localtime"):
        m.take(opt, "rtc")
        m.set("rtc", "localtime")
        m.note(opt.line, '-localtime: QEMU 7.2 no longer takes it: imported as rtc = "localtime"')


def _tablet(m: Mapper) -> None:
    tablets = [o for o in m.named("-usbdevice") if o.text == "tablet"]
    if len(tablets) != 1:
        return
    m.take(tablets[0], "tablet")
    for usb in m.named("-usb"):
        m.take(usb, "tablet")  # vmrun gives -usb with the tablet
    m.set("tablet", True, tablets[0].value)
    m.note(tablets[0].line, f"{tablets[0]}: imported as tablet = true (a USB tablet on the machine's own USB)")
