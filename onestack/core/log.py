"""Structured logging: human-readable lines by default, one JSON object per line on request."""

from __future__ import annotations

import json
import logging
import re
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


_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"']+")


class RedactQueryTokens(logging.Filter):
    """uvicorn logs each websocket's path with its query: a console token there is a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


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
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RedactQueryTokens) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(RedactQueryTokens())
    # Services call each other in-process through httpx; the API log already records each request.
    logging.getLogger("httpx").setLevel("WARNING")
    if not verbose:
        logging.getLogger("sqlalchemy").setLevel("WARNING")
        logging.getLogger("alembic").setLevel("WARNING")
