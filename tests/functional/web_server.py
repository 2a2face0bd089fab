"""The conformance tool's local HTTP server (a thread on 127.0.0.1, a free port), which the
web-download tests fetch from: one implementation for both."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from conformance_lib.image_server import WebServer, web_server

__all__ = ["WebServer", "web_server"]
