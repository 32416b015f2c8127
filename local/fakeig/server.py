"""HTTP front end: stdlib ``ThreadingHTTPServer`` around :class:`fakeig.app.FakeApp`.

The stdlib server is used on purpose: fault injection needs to close a connection without sending
any response, and to sleep past a client's timeout, which an ASGI server would turn into a 500.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from fakeig.app import FakeApp, create_app
from fakeig.config import FakeConfig
from fakeig.http import SECRET_PARAMS, Request, Response, redact_token

log = logging.getLogger("fakeig.server")


def _safe_path(raw_path: str) -> str:
    """The request path with token-like query values shortened (never log a full token)."""
    parts = urlsplit(raw_path)
    if not parts.query:
        return parts.path
    query = [(k, redact_token(v) if k in SECRET_PARAMS else v[:80]) for k, v in parse_qsl(parts.query, True)]
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in query)


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeInstagram/1.0"
    disable_nagle_algorithm = True
    app: FakeApp  # set on the subclass made by make_server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:  # silence the default stderr log
        return

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        req = Request(
            method=self.command,
            raw_path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        resp = self.app.handle(req)
        try:
            self._send(resp)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        elapsed = (time.monotonic() - started) * 1000
        status = "DROPPED" if resp.drop else str(resp.status)
        log.info("%s %s -> %s %.0fms", self.command, _safe_path(self.path), status, elapsed)

    def _send(self, resp: Response) -> None:
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        headers = dict(resp.headers)
        if "Content-Length" not in headers:
            headers["Content-Length"] = str(resp.stream_length if resp.stream is not None else len(resp.body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if resp.stream is not None:
            for chunk in resp.stream:
                self.wfile.write(chunk)
        else:
            self.wfile.write(resp.body)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(app: FakeApp, host: str = "127.0.0.1", port: int = 4580) -> FakeServer:
    handler = type("BoundFakeHandler", (FakeHandler,), {"app": app})
    return FakeServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake-instagram", description="Fake Instagram/Meta API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4580)
    parser.add_argument("--config", help="JSON file with FakeConfig fields")
    parser.add_argument("--quiet", action="store_true", help="do not log one line per request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s fakeig %(message)s",
        stream=sys.stdout,
    )
    config = FakeConfig()
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            config = FakeConfig.model_validate_json(fh.read())
    app = create_app(config)
    server = make_server(app, args.host, args.port)
    log.info("fake instagram listening on http://%s:%d", args.host, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.stop_event.set()
        server.server_close()
    return 0


def serve_in_thread(app: FakeApp, host: str = "127.0.0.1", port: int = 0) -> tuple[FakeServer, threading.Thread]:
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-instagram", daemon=True)
    thread.start()
    return server, thread


if __name__ == "__main__":
    raise SystemExit(main())
