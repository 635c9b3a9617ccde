"""Is this process ready to serve: the database reachable, and its schema at the migrations this code ships."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from som_flow.extensions import db

log = logging.getLogger(__name__)
VERSION_TABLE = "alembic_version"  # where Alembic records the migrations applied (its default)


@dataclass
class Readiness:
    """`problems` names what is wrong (`database` or `migrations`) in plain words; empty when ready."""

    revisions: tuple[str, ...] = ()
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.problems


@functools.cache
def _code_heads(directory: str) -> tuple[str, ...]:
    """The newest migrations this code ships (read from the files once per process: they do not change under it)."""
    return tuple(sorted(ScriptDirectory(directory).get_heads()))


def check_readiness() -> Readiness:
    """One connection, two small queries (is there an alembic_version table; what it holds); never raises for a
    database that is down."""
    wanted = _code_heads(current_app.extensions["migrate"].directory)
    try:
        with db.engine.connect() as conn:
            # the table Alembic keeps, read directly: its MigrationContext would log two INFO lines per probe
            current = ()
            if inspect(conn).has_table(VERSION_TABLE):
                current = tuple(sorted(conn.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}"))))  # noqa: S608 - a constant
    except SQLAlchemyError as exc:
        # the reason (host, port, driver message) goes to the log, not to an unauthenticated caller
        log.warning("readiness: cannot reach the database: %s", str(getattr(exc, "orig", exc)).strip())
        return Readiness(problems={"database": ["The database cannot be reached."]})
    if current == wanted:
        return Readiness(revisions=current)
    init = "run `som-flow init` to upgrade it"
    if not current:
        message = f"The database has no migrations applied; {init} to {', '.join(wanted)}."
    elif set(current) <= _known(current_app.extensions["migrate"].directory):
        message = f"The database is at migration {', '.join(current)}, behind {', '.join(wanted)}; {init}."
    else:
        message = (f"The database is at migration {', '.join(current)}, which this code does not know "
                   f"(it ships {', '.join(wanted)}): a newer release has upgraded it.")
    return Readiness(revisions=current, problems={"migrations": [message]})


@functools.cache
def _known(directory: str) -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory(directory).walk_revisions())
