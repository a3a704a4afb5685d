"""Options QEMU has removed (7.2 refuses them) or kept only for old scripts: into today's keys, or dropped saying why.

``-soundhw`` becomes ``audio``, ``-localtime`` ``rtc``, ``-usbdevice tablet``
``tablet`` (today's forms, ``-rtc`` and ``-device usb-tablet``, stay as written:
where they stand in the argv is the script's);
qemu-kvm's tuning flags, which QEMU no longer takes and which change nothing
the guest sees under TCG, are dropped with a note. ``-no-kvm`` is the
accelerator's business (machine.py).
"""

from __future__ import annotations

import re

from vmrun.errors import ScriptError
from vmrun.importer.options import Mapper

# Removed flags with no key, and why dropping them is right.
DROPPED = {
    "-no-kvm-irqchip": "it kept KVM's interrupt controller in QEMU, a workaround for old host kernels; QEMU 7.2 "
    "no longer takes it (today: -machine kernel-irqchip=off, needed by no current host)",
    "-no-kvm-pit-reinjection": "it tuned KVM's timer for old guests; QEMU 7.2 no longer takes it "
    "(today: -global kvm-pit.lost_tick_policy=discard)",
    "-enable-nesting": "qemu-kvm's switch for nested guests, removed; nesting is the host's kvm module "
    'option (nested=1) and a CPU with vmx/svm (cpu = "host")',
    "-tdf": "qemu-kvm's time drift fix, removed; today -rtc driftfix=slew does it, for Windows guests only",
}
# -soundhw's cards that have a key, best first (``all`` gave every card; hda is the one a guest uses).
_CARDS = {"hda": "hda", "ac97": "ac97", "all": "hda"}


def map_removed(m: Mapper) -> None:
    for opt in m.named(*DROPPED):
        m.take(opt, "dropped")
        m.note(opt.line, f"{opt}: dropped: {DROPPED[opt.name]}")
    _soundhw(m)
    _clock(m)
    _tablet(m)


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
