"""Today's sound card: ``-audiodev X,id=a -device intel-hda -device hda-duplex,audiodev=a`` (or ``AC97``)
into ``audio`` and ``audio_backend``, which vmrun gives as the same three options.

Only the cards vmrun gives (intel-hda with the duplex codec, AC97) and a backend with nothing but its
id become keys; anything else stays in extra_args as the script wrote it. ``-soundhw`` is removed.py's.
"""

from __future__ import annotations

from vmrun.importer.options import Mapper, Opt, parse_opts
from vmrun.profile.model import AudioBackend

_BACKENDS = {b.value for b in AudioBackend}


def map_audio(m: Mapper) -> None:
    if "audio" in m.profile:
        return
    cards = _cards(m)
    if cards is None:
        return
    audio, used, audiodev_id = cards
    backend = "none"
    if audiodev_id is not None:
        found = _audiodev(m, audiodev_id)
        if found is None:
            return
        opt, backend = found
        used.append(opt)
    for opt in used:
        m.take(opt, "audio")
    m.set("audio", audio, used[0].value)
    line = used[0].line
    if audiodev_id is None:
        m.note(
            line,
            f'{used[0]}: imported as audio = "{audio}"; the script gives it no -audiodev, so QEMU chose a host '
            'backend itself: audio_backend = "none" plays nowhere, write "pa" or "alsa" to hear it',
        )
        return
    if backend != "none":
        m.set("audio_backend", backend)
    if backend == "wav":
        m.note(line, "QEMU wrote qemu.wav in the folder it ran in; vmrun writes NAME.wav in the profile's folder")
    m.note(line, f'{used[0]}: imported as audio = "{audio}", audio_backend = "{backend}"')


def _device(opt: Opt) -> tuple[str | None, dict[str, str]]:
    driver, pairs = parse_opts(opt.text, "driver")
    return driver, dict(pairs)


def _cards(m: Mapper) -> tuple[str, list[Opt], str | None] | None:
    """The one card vmrun gives, its options, and the id of the audiodev it plays on."""
    devices = [(o, *_device(o)) for o in m.named("-device")]
    hda = [(o, k) for o, d, k in devices if d == "intel-hda"]
    codecs = [(o, k) for o, d, k in devices if d and d.startswith("hda-")]
    ac97 = [(o, k) for o, d, k in devices if d == "AC97"]
    if len(hda) == 1 and len(codecs) == 1 and not ac97:
        (card, card_keys), (codec, codec_keys) = hda[0], codecs[0]
        bus = codec_keys.pop("bus", None)
        audiodev = codec_keys.pop("audiodev", None)
        if _device(codec)[0] != "hda-duplex" or set(card_keys) - {"id"} or codec_keys:
            return None
        if bus is not None and bus != f"{card_keys.get('id')}.0":
            return None
        return "hda", [card, codec], audiodev
    if len(ac97) == 1 and not hda and not codecs:
        card, keys = ac97[0]
        audiodev = keys.pop("audiodev", None)
        return ("ac97", [card], audiodev) if not keys else None
    return None


def _audiodev(m: Mapper, audiodev_id: str) -> tuple[Opt, str] | None:
    for opt in m.named("-audiodev"):
        kind, pairs = parse_opts(opt.text, "driver")
        keys = dict(pairs)
        if keys.get("id") != audiodev_id:
            continue
        if kind in _BACKENDS and set(keys) == {"id"}:
            return opt, kind
        return None
    return None
