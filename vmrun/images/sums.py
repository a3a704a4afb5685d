"""Checksum files as distributions publish them, read into ``{file name: (algorithm, hex digest)}``.

Two line formats (and a hash alone on its line, as Alpine's ``x.qcow2.sha512``), mixed freely, anything else skipped (a PGP clear-signature's armour,
Fedora's ``# name: N bytes`` comments, blank lines)::

    GNU (sha256sum, sha512sum):  HASH  name      HASH *name   (binary mode)
    BSD (sha256sum --tag):       SHA256 (name) = HASH

A BSD line names its algorithm. A GNU line's algorithm comes from the file's name
(``SHA512SUMS``, ``x.qcow2.sha256``), else from the hash's length (64 hex digits: sha256,
128: sha512).
"""

from __future__ import annotations

import re

ALGORITHMS = {"sha256": 64, "sha512": 128}
_BY_LENGTH = {n: a for a, n in ALGORITHMS.items()}
_GNU = re.compile(r"^\\?(?P<hash>[0-9A-Fa-f]{32,128}) [ *](?P<name>.+)$")
_BARE = re.compile(r"^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{128})$")  # Alpine's x.qcow2.sha512: the hash alone
_BSD = re.compile(r"^(?P<algo>SHA256|SHA512|SHA-256|SHA-512) ?\((?P<name>.+)\) ?= ?(?P<hash>[0-9A-Fa-f]+)$", re.I)

Digest = tuple[str, str]  # (algorithm, lower-case hex)


class SumsError(ValueError):
    pass


def algorithm_from_name(file_name: str) -> str | None:
    """``SHA256SUMS``, ``SHA512SUMS``, ``x.sha256``, ``x.SHA256``: the algorithm the name says, else None."""
    lowered = file_name.lower()
    for algo in ALGORITHMS:
        if algo in lowered:
            return algo
    return None


def check_digest(algo: str, value: str) -> Digest:
    """A digest typed by the user (``--sha256 SUM``): hex of the algorithm's length."""
    value = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]+", value) or len(value) != ALGORITHMS[algo]:
        raise SumsError(f"{value[:20]!r}... is not a {algo} digest: {ALGORITHMS[algo]} hex digits")
    return algo, value


def parse(text: str, file_name: str = "") -> dict[str, Digest]:
    """Every entry of a checksum file; the last one wins for a name listed twice."""
    named = algorithm_from_name(file_name)
    found: dict[str, Digest] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if m := _BSD.match(line):
            algo = m.group("algo").lower().replace("-", "")
            digest = m.group("hash").lower()
            if len(digest) == ALGORITHMS[algo]:
                found[_base(m.group("name"))] = (algo, digest)
        elif m := _GNU.match(line):
            digest = m.group("hash").lower()
            algo = named if named and len(digest) == ALGORITHMS[named] else _BY_LENGTH.get(len(digest))
            if algo:  # an md5 or sha1 line (32, 40 digits) is not one vmrun trusts
                found[_base(m.group("name"))] = (algo, digest)
        elif _BARE.match(line):
            found[_stem(file_name)] = (_BY_LENGTH[len(line)], line.lower())
    return found


def _base(name: str) -> str:
    """``./x.qcow2`` and ``images/x.qcow2`` are listed by the file's own name."""
    return name.strip().rsplit("/", 1)[-1]


def _stem(sums_name: str) -> str:
    """The file a per-file checksum file is about: ``x.qcow2.sha512`` -> ``x.qcow2``."""
    return re.sub(r"\.(sha256|sha512)(sum)?$", "", sums_name, flags=re.I)


def lookup(entries: dict[str, Digest], file_name: str, sums_name: str) -> Digest:
    """The digest of ``file_name``; a per-file checksum file (``x.qcow2.sha256``) with one entry may name the
    image's versioned file instead (openSUSE's, Arch's point at today's build): that one entry is taken."""
    if file_name in entries:
        return entries[file_name]
    if len(entries) == 1 and sums_name.startswith(file_name):
        return next(iter(entries.values()))
    if not entries:
        raise SumsError("holds no sha256 or sha512 line in GNU (HASH  name) or BSD (SHA256 (name) = HASH) format")
    shown = ", ".join(sorted(entries)[:5]) + (", ..." if len(entries) > 5 else "")
    raise SumsError(f"does not list {file_name} (it lists {shown})")
