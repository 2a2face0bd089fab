"""Loaded by the onestack that bench/network_pairs.py starts (on its PYTHONPATH): counts the SQL
statements the server runs and writes the count to ``$ONESTACK_BENCH_COUNT_FILE`` every 0.2 s.
(The pool's pre-ping does not pass through this event and is not counted.) With
``$ONESTACK_BENCH_SQL_LOG`` set it also appends each statement to that file, one a line."""

import os
import threading
import time

_PATH = os.environ.get("ONESTACK_BENCH_COUNT_FILE", "")
_LOG = os.environ.get("ONESTACK_BENCH_SQL_LOG", "")
if _PATH:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _count = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _counted(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        _count[0] += 1
        if _LOG:
            with open(_LOG, "a") as fh:
                fh.write(" ".join(statement.split())[:400] + "\n")

    def _dump() -> None:
        while True:
            time.sleep(0.2)
            with open(_PATH, "w") as fh:
                fh.write(str(_count[0]))

    threading.Thread(target=_dump, daemon=True).start()
