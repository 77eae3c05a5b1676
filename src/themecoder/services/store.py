"""Opening the store: the one way faces (CLI, API) get a migrated database and sessions."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from themecoder.storage import init_db, make_engine, session_factory


def open_store(db_url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Migrate the database at ``db_url`` to the latest schema and return its engine and
    session factory; the caller disposes of the engine."""
    engine = make_engine(db_url)
    init_db(engine)
    return engine, session_factory(engine)
