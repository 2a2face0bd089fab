"""Structured logging: human-readable lines by default, one JSON object per line on request."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def setup_logging(level: str = "INFO", *, json_lines: bool = False, verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel("DEBUG" if verbose else level.upper())
    # Our request log line replaces uvicorn's access log.
    logging.getLogger("uvicorn.access").disabled = True
    # Services call each other in-process through httpx; the API log already records each request.
    logging.getLogger("httpx").setLevel("WARNING")
    if not verbose:
        logging.getLogger("sqlalchemy").setLevel("WARNING")
        logging.getLogger("alembic").setLevel("WARNING")
