"""A local HTTP server the conformance tool runs beside the cloud: Tempest's ``[image] http_image``.

Tempest's web-download test imports ``http_qcow2_image`` into the cloud; nothing outside is
reachable here, so the tool serves a small qcow2 (the built-in image's bytes) from a thread on
127.0.0.1 and starts the cloud allowing that port for web-download (``[image]
import_filtering_allowed_ports``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/cirros.qcow2"


def _image_bytes() -> bytes:
    from onestack.image import builtin

    return bytes(builtin.disk_bytes(builtin.BUILTIN_IMAGES[0]))


class ImageServer:
    """Serves one qcow2 at ``url``; ``close`` stops it."""

    def __init__(self) -> None:
        body = _image_bytes()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != PATH:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def cloud_env(self) -> dict[str, str]:
        """What ``onestack up`` needs to let web-download reach this server."""
        return {"ONESTACK_IMAGE__IMPORT_FILTERING_ALLOWED_PORTS": f"80,443,{self.port}"}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
