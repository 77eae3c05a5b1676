"""Engine and session factories, and schema set-up through Alembic.

SQLite is the default store; PostgreSQL (``postgresql+psycopg://...``) works the same way.
Nothing connects until a caller asks for a connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``.

    For a SQLite file the parent folder is created, connections may be shared across threads,
    and every connection turns on foreign keys and WAL journaling. An in-memory SQLite
    database is held by one connection, so every session sees the same data.

    Args:
        url: A SQLAlchemy URL, e.g. ``sqlite:///data/themecoder.db`` or
            ``postgresql+psycopg://user:pass@host/db``.

    Returns:
        The engine; no connection is opened yet.
    """
    parsed = make_url(url)
    # Each API request holds one connection; room for the API's worker threads (40) at once.
    pool = {"pool_size": 10, "max_overflow": 40}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **pool)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    uri = str(parsed.query.get("uri", "")).lower() in ("true", "1")
    if not in_memory and not uri:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # A writer waits for the write lock up to ``timeout`` seconds (the driver's default, 5 s,
    # was too short for 20 concurrent ingest batches).
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if in_memory:
        options["poolclass"] = StaticPool
    else:
        options.update(pool)
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "savepoint", _write_lock_before_savepoint)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the API read while a coding run writes; NORMAL sync is safe under WAL.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _write_lock_before_savepoint(connection: Connection, _name: str) -> None:
    """Open the transaction a savepoint would open with the write lock taken.

    The driver begins a transaction only before a write, so reads run on fresh snapshots; but
    ``SAVEPOINT`` outside a transaction begins a deferred one, whose first read fixes its
    snapshot. If another connection commits before its first write, SQLite cannot upgrade the
    stale snapshot and answers "database is locked" at once, without the busy timeout.
    ``BEGIN IMMEDIATE`` waits for the lock instead, and other writers wait for it.
    """
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        dbapi.execute("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code, so no ``alembic.ini`` is needed at run time.

    Args:
        connection: When given, migrations run on this connection instead of opening one.

    Returns:
        A config whose ``script_location`` is the package's ``migrations`` folder.
    """
    config = Config()
    # ConfigParser interpolates "%", so a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_db(engine: Engine) -> None:
    """Bring the schema to the latest migration; safe to call on every start.

    Args:
        engine: The engine of the database to migrate.
    """
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
