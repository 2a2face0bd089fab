"""Log lines never carry a console token: uvicorn logs each websocket's path with its query."""

from __future__ import annotations

import logging

from onestack.core.log import RedactQueryTokens


def test_tokens_in_logged_paths_are_hidden() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" %s', (
        ("127.0.0.1", 5000), "/?token=9f1c-secret&x=1", 403), None)
    assert RedactQueryTokens().filter(record)
    assert record.getMessage() == "('127.0.0.1', 5000) - \"WebSocket /?token=***&x=1\" 403"


def test_other_lines_are_left_alone() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (42,), None)
    assert RedactQueryTokens().filter(record) and record.getMessage() == "Started server process [42]"
