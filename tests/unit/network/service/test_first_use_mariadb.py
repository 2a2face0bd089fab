"""First uses raced on MariaDB: a project's default security group and the default rules' template.
The winner here commits between the loser's first read and its insert.

At READ COMMITTED (onestack's engines on MySQL/MariaDB) the loser's next statement sees the winner's
row. At MariaDB's own REPEATABLE READ the loser's insert meets the winner's key and a reread in its
own transaction cannot see the winner's row (its snapshot is older), so it runs again in a new one
(core.db.RetryInNewTransaction) and finds it there — before, the IntegrityError went out as a 500.
Both levels are tested: the retry must stay correct if a server ever runs the older level."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.network import models
from onestack.network.service import default_security_group_rules, security_groups

RC, RR = "READ COMMITTED", "REPEATABLE READ"


@pytest.fixture(params=[RC, RR])
def db(mariadb_engine: Engine, request: pytest.FixtureRequest) -> Iterator[Database]:
    database = Database(mariadb_engine.execution_options(isolation_level=request.param))
    yield database
    database.dispose()


def _level(db: Database) -> str:
    return str(db.engine.get_execution_options()["isolation_level"])


def test_the_loser_of_a_default_group_race_gets_the_winners_group(db: Database) -> None:
    db.run_sync(default_security_group_rules.ensure_template)
    runs: list[str | None] = []

    def loser(s: Session) -> str:
        runs.append(security_groups.default_of(s, "p"))  # the snapshot: no group yet (the first run)
        if len(runs) == 1:
            runs.append(db.run_sync(security_groups.ensure_default, "p"))  # the winner commits meanwhile
        return security_groups.ensure_default(s, "p")

    got = db.run_sync(loser)
    winner = runs[1]
    if _level(db) == RR:
        assert got == winner and runs == [None, winner, winner]  # the second run saw the winner's group at once
    else:
        assert got == winner and runs == [None, winner]  # its next statement saw the winner's group
    count = db.run_sync(lambda s: s.scalar(select(func.count()).select_from(models.DefaultSecurityGroup)))
    assert count == 1


def test_the_loser_of_the_template_race_sees_the_winners_rules(db: Database) -> None:
    runs: list[bool] = []

    def loser(s: Session) -> int:
        runs.append(default_security_group_rules.initialised(s))
        if len(runs) == 1:
            db.run_sync(default_security_group_rules.ensure_template)
        default_security_group_rules.ensure_template(s)
        return len(default_security_group_rules.rules_for(s, "g", default_group=True))

    assert db.run_sync(loser) == 4 and runs == ([False, True] if _level(db) == RR else [False])
