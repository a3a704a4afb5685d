"""HTTP(S) downloads through the standard library (urllib): a GET that may ask for a byte range, and small texts.

Every failure to reach a server, or an HTTP error status, becomes one :class:`ImageError`
naming the URL. Redirects are followed (urllib keeps the ``Range`` header across them);
proxies come from the usual ``https_proxy``/``http_proxy`` variables. ``file://`` URLs work
too (a mirror on a mounted disk): they always answer with the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from vmrun.errors import ImageError

TIMEOUT = 30.0  # seconds without a byte before a download counts as cut
USER_AGENT = "vmrun"
TEXT_LIMIT = 4 * 1024 * 1024  # a SUMS file is a few kB; a larger answer is not one


@dataclass
class Response:
    """An open answer: ``status`` 200 (the whole file), 206 (from ``start``) or 416 (the range is past the end)."""

    url: str
    status: int
    start: int  # the offset of the body's first byte in the file
    total: int | None  # the whole file's size, when the server says it
    body: IO[bytes] | None

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body, b"" at its end; a connection cut or timed out is an ImageError."""
        import http.client

        assert self.body is not None
        read = getattr(self.body, "read1", self.body.read)  # what has come, not a wait for all ``size`` bytes
        try:
            return read(size)
        except (OSError, http.client.HTTPException) as e:
            raise ImageError(f"the download of {self.url} was cut: {_reason(e)}") from None

    def close(self) -> None:
        if self.body is not None:
            self.body.close()


def _reason(e: BaseException) -> str:
    import http.client
    import urllib.error

    if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
        e = e.reason if isinstance(e.reason, BaseException) else e
    if isinstance(e, http.client.IncompleteRead):
        return f"the connection closed {e.expected} bytes early" if e.expected else "the connection closed early"
    if isinstance(e, TimeoutError):
        return f"no data for {TIMEOUT:.0f} s"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def get(url: str, start: int = 0, timeout: float = TIMEOUT) -> Response:
    """GET ``url``, asking for the bytes from ``start`` on when it is not 0."""
    import urllib.error
    import urllib.request

    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        answer = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:
            e.close()
            return Response(url, 416, start, _total(e.headers.get("Content-Range")), None)
        e.close()
        raise ImageError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ImageError(f"cannot download {url}: {_reason(e)}") from None
    status = getattr(answer, "status", None) or 200  # file:// answers have no status: the whole file
    length = answer.headers.get("Content-Length")
    if status == 206:
        content_range = answer.headers.get("Content-Range", "")
        m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", content_range)
        if not m:
            answer.close()
            raise ImageError(
                f"{url}: the server answered a range with a Content-Range vmrun cannot read: {content_range!r}"
            )
        return Response(url, 206, int(m.group(1)), _total(content_range), answer)
    return Response(url, 200, 0, int(length) if length and length.isdigit() else None, answer)


def _total(content_range: str | None) -> int | None:
    m = re.search(r"/(\d+)\s*$", content_range or "")
    return int(m.group(1)) if m else None


def text(url: str, timeout: float = TIMEOUT) -> str:
    """The whole (small) text at ``url``: a checksum file."""
    answer = get(url, timeout=timeout)
    try:
        data = b""
        while len(data) <= TEXT_LIMIT and (chunk := answer.read(TEXT_LIMIT + 1 - len(data))):
            data += chunk
    finally:
        answer.close()
    if len(data) > TEXT_LIMIT:
        raise ImageError(f"{url}: more than {TEXT_LIMIT // 1024 // 1024} MiB: not a checksum file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImageError(f"{url}: not text: not a checksum file") from None
