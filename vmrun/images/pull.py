"""`vmrun image pull`: what to fetch and what it must hash to (:func:`resolve`), then the download
(:func:`download`) into ``N.part``, resumed where a cut one stopped, verified, and only then linked
under the image's name.

Every image is verified: by ``--sha256``/``--sha512``, by a checksum file (``--sums URL``), or by the
checksum file the catalogue names. Without any of them the pull is refused unless ``--insecure``.
A wrong checksum leaves nothing behind; a cut connection or Ctrl-C leaves ``N.part`` alone, which
the next pull of ``N`` resumes (HTTP Range; a server that sends the whole file again starts it over).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from vmrun import ui
from vmrun.adapters import http
from vmrun.errors import ImageError, UsageError
from vmrun.images import catalogue, store, sums
from vmrun.images.catalogue import Entry
from vmrun.images.store import Record

CHUNK = 1 << 20
_SUFFIXES = (".qcow2", ".img", ".raw")


@dataclass(frozen=True)
class Source:
    """One pull, decided: the image's name, where its bytes are, and the digest they must have."""

    name: str
    url: str
    expected: sums.Digest | None  # None: --insecure
    verified_by: str
    entry: Entry | None = None


def file_name(url: str) -> str:
    return unquote(urlsplit(url).path).rsplit("/", 1)[-1]


def default_name(url: str) -> str:
    base = file_name(url)
    for suffix in _SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    try:
        return store.check_name(base, option="URL")
    except UsageError as e:
        raise UsageError(e.message, hint="name it with --name N") from None


def resolve(
    source: str,
    *,
    sha256: str | None = None,
    sha512: str | None = None,
    sums_url: str | None = None,
    name: str | None = None,
    insecure: bool = False,
) -> Source:
    """What ``vmrun image pull SOURCE`` means: a catalogue name or a URL, and how it is verified."""
    entry = None if "://" in source else catalogue.find(source)
    if entry is None and "://" not in source:
        raise UsageError(
            f"no image {source!r} in the catalogue",
            hint="vmrun image list --catalogue shows the names; or give the image's URL",
        )
    url = catalogue.mirrored(entry.url) if entry else source
    image = store.check_name(name) if name else entry.name if entry else default_name(url)
    given = [opt for opt, value in (("--sha256", sha256), ("--sha512", sha512), ("--sums", sums_url)) if value]
    if len(given) > 1:
        raise UsageError(f"give one of {', '.join(given)}, not both", option=given[1])
    if insecure and (given or entry):
        what = given[0] if given else f"the catalogue's checksum file for {entry.name}"  # type: ignore[union-attr]
        raise UsageError(f"there is {what} to verify it with", option="--insecure", hint="leave --insecure out")
    if sha256 or sha512:
        algo, value = ("sha256", sha256) if sha256 else ("sha512", sha512)
        try:
            return Source(image, url, sums.check_digest(algo, value or ""), f"--{algo}", entry)
        except sums.SumsError as e:
            raise UsageError(str(e), option=f"--{algo}") from None
    if sums_url or entry:
        where = sums_url or catalogue.mirrored(entry.sums)  # type: ignore[union-attr]
        label = where if sums_url else f"catalogue ({where})"
        return Source(image, url, digest_from_sums(where, file_name(url)), label, entry)
    if not insecure:
        raise UsageError(
            f"{url}: nothing to verify the download with",
            hint="give --sha256 SUM, --sha512 SUM or --sums URL (the distribution's SHA256SUMS), "
            "or --insecure to take it unchecked",
        )
    return Source(image, url, None, "nothing (--insecure)", entry)


def digest_from_sums(sums_url: str, image_file: str) -> sums.Digest:
    sums_name = file_name(sums_url)
    try:
        return sums.lookup(sums.parse(http.text(sums_url), sums_name), image_file, sums_name)
    except sums.SumsError as e:
        raise ImageError(f"{sums_url}: {e}", hint="check the checksum file's URL (--sums)") from None


def download(src: Source) -> tuple[Record, bool]:
    """The image ``src`` in the cache: downloaded, verified and placed; or the one there already (True)."""
    store.make_dir()
    if existing := store.find(src.name):
        return existing, True
    part = store.part_path(src.name)
    fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        store.lock_part(fd, src.name)
        if existing := store.find(src.name):  # placed by another pull while we waited for nothing
            return existing, True
        return _fetch_verify_place(fd, src), False
    except KeyboardInterrupt:
        if _drop_if_empty(part):
            ui.notice(f"kept {part} ({ui.size(part.stat().st_size)}): pulling {src.name} again resumes it")
        raise
    except Exception:
        _drop_if_empty(part)
        raise
    finally:
        os.close(fd)


def _drop_if_empty(part: os.PathLike[str]) -> bool:
    """Remove ``N.part`` if not one byte came (refused, not found): nothing to resume. Whether it is still there."""
    try:
        if os.stat(part).st_size == 0:
            os.unlink(part)
            return False
        return True
    except FileNotFoundError:
        return False


def _fetch_verify_place(fd: int, src: Source) -> Record:
    part = store.part_path(src.name)
    algo = src.expected[0] if src.expected else "sha256"
    digest, resumed = _fetch(fd, src, algo, fresh=False)
    if src.expected and digest != src.expected[1] and resumed:
        ui.notice(f"{src.name}: the resumed download does not match its checksum; downloading it again from the start")
        digest, _ = _fetch(fd, src, algo, fresh=True)
    if src.expected and digest != src.expected[1]:
        part.unlink(missing_ok=True)
        raise ImageError(
            f"{src.name}: the download is not what its checksum says ({algo} {digest[:16]}..., "
            f"expected {src.expected[1][:16]}...); nothing was kept",
            hint=f"checked against {src.verified_by}; a mirror in the middle of an update can cause this: try later",
        )
    from vmrun.adapters import qemuimg

    info = qemuimg.info(str(part))
    record = Record(
        name=src.name,
        url=src.url,
        algorithm=algo,
        digest=digest,
        verified_by=src.verified_by,
        size=os.fstat(fd).st_size,
        format=info.format,
        virtual_size=info.virtual_size,
        user=src.entry.user if src.entry else None,
        catalogue=src.entry.name if src.entry else None,
        pulled=store.now(),
    )
    store.write_record(record)
    os.link(part, store.path(src.name))  # never over a file of that name: link, not rename
    part.unlink()
    return record


def _fetch(fd: int, src: Source, algo: str, *, fresh: bool) -> tuple[str, bool]:
    """Fill ``N.part`` (open as ``fd``) from where it ends; its digest, and whether this resumed a download."""
    have = 0 if fresh else os.fstat(fd).st_size
    hasher = hashlib.new(algo)
    if have:
        _hash_existing(fd, have, hasher)
    answer = http.get(src.url, start=have)
    if answer.status == 416 and answer.total == have:  # it was whole already (stopped while being checked)
        return hasher.hexdigest(), True
    resumed = answer.status == 206 and answer.start == have
    if have and not resumed:
        why = "sent the whole file instead of the rest" if answer.status == 200 else f"cannot resume at byte {have}"
        ui.notice(f"{src.name}: the server {why}: starting over")
        if answer.status != 200:  # 416 for a file that changed size, or a range that starts elsewhere
            answer.close()
            answer = http.get(src.url)
        have, hasher = 0, hashlib.new(algo)
    os.ftruncate(fd, have)
    os.lseek(fd, have, os.SEEK_SET)
    total = answer.total
    try:
        with ui.Progress(src.name, total, have) as bar:
            while chunk := answer.read(CHUNK):
                _write_all(fd, chunk)
                hasher.update(chunk)
                bar.update(len(chunk))
            got = os.fstat(fd).st_size
            if total is not None and got < total:
                raise ImageError(f"the download of {src.url} was cut: the connection closed early")
    except ImageError as e:
        got = os.fstat(fd).st_size
        raise ImageError(
            f"{e.message} after {ui.size(got)} of {ui.size(total)}",
            hint=f"{store.part_path(src.name)} is kept: the same vmrun image pull resumes it "
            f"(vmrun image rm {src.name} deletes it)",
        ) from None
    finally:
        answer.close()
    return hasher.hexdigest(), resumed


def _hash_existing(fd: int, length: int, hasher: object) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    left = length
    while left:
        chunk = os.read(fd, min(CHUNK, left))
        if not chunk:
            break
        hasher.update(chunk)  # type: ignore[attr-defined]
        left -= len(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
