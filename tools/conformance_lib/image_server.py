"""A local HTTP server the conformance tool runs beside the cloud: Tempest's ``[image] http_image``.

Tempest's web-download test imports ``http_qcow2_image`` into the cloud; nothing outside is
reachable here, so the tool serves a small qcow2 (the built-in image's bytes) from a thread on
127.0.0.1 and starts the cloud allowing that port for web-download (``[image]
import_filtering_allowed_ports``). The functional tests serve their files with the same server
(tests/functional/web_server.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/cirros.qcow2"


class WebServer:
    """Serves ``files`` (path -> bytes) and ``redirects`` (path -> Location); anything else is 404."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.hits: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def cloud_env(self) -> dict[str, str]:
        """What ``onestack up`` needs to let web-download reach this server."""
        return {"ONESTACK_IMAGE__IMPORT_FILTERING_ALLOWED_PORTS": f"80,443,{self.port}"}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def _handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            server.hits.append(path)
            if path in server.redirects:
                self.send_response(302)
                self.send_header("Location", server.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = server.files.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep the run's output clean
            return

    return Handler


@contextmanager
def web_server() -> Iterator[WebServer]:
    server = WebServer()
    try:
        yield server
    finally:
        server.close()


def image_server() -> WebServer:
    """The conformance run's server: the built-in qcow2 at ``PATH``."""
    from onestack.image import builtin

    server = WebServer()
    server.files[PATH] = bytes(builtin.disk_bytes(builtin.BUILTIN_IMAGES[0]))
    return server
