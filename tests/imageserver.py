"""A tiny HTTP file server for the image tests: byte ranges, and faults on demand.

``python -m tests.imageserver ROOT PORT CONTROL LOG`` serves the files under ROOT on 127.0.0.1:PORT.
Before each answer it reads CONTROL (JSON, may be absent): ``cut_after`` (send that many bytes of a
file named ``cut_file``, then close the connection), ``ignore_range`` (answer 200 with the whole file,
as a server without range support does), ``stall_after`` (send that many bytes, then wait). Each
request is appended to LOG as a JSON line: ``{"path", "range"}``.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def handler(root: Path, control: Path, log: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            ctl = json.loads(control.read_text()) if control.exists() else {}
            rng = self.headers.get("Range")
            with log.open("a") as f:
                f.write(json.dumps({"path": self.path, "range": rng}) + "\n")
            path = root / unquote(urlsplit(self.path).path).lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            start, status = 0, 200
            if rng and not ctl.get("ignore_range"):
                start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "none" if ctl.get("ignore_range") else "bytes")
            self.end_headers()
            is_target = path.name == ctl.get("cut_file", path.name)
            if is_target and ctl.get("stall_after") is not None:
                self.wfile.write(body[: ctl["stall_after"]])
                self.wfile.flush()
                time.sleep(600)
            if is_target and ctl.get("cut_after") is not None:
                self.wfile.write(body[: ctl["cut_after"]])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


def main() -> None:
    root, port, control, log = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(root, control, log))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
