"""Shared fixtures. Tests are offline: sockets may only reach loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# One folder of ONNX exports for the session: fixtures give each test its own cache_dir, and an
# export per test would cost seconds each (tests of the export itself name their own folder).
os.environ.setdefault(
    "THEMECODER_ONNX_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "onnx")
)

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise OSError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]

DATA = Path(__file__).parent / "data"


@pytest.fixture
def settings(tmp_path: Path):
    from themecoder.config import Settings

    return Settings(db_url=f"sqlite:///{tmp_path / 'store.db'}", results_dir=tmp_path / "results")


@pytest.fixture(scope="session")
def coder():
    """The shipped coder with the real embedding and spaCy models, loaded once."""
    from themecoder.coder import Coder
    from themecoder.config import Settings

    return Coder.load(Settings())


POSTGRES_URL = os.environ.get("THEMECODER_TEST_POSTGRES_URL")
ROLES = ("admin", "reviewer", "analyst", "ingest")


def clear_database(url: str) -> None:
    """Drop every table of the store (the PostgreSQL test database is shared by tests)."""
    from sqlalchemy import text

    from themecoder.storage import Base, make_engine

    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A database of this test process on the test server, dropped at the end.

    One database per process keeps concurrent test runs on one server out of each other's way.
    """
    if not POSTGRES_URL:
        pytest.fail(
            "THEMECODER_TEST_POSTGRES_URL is unset: run `make test`, which starts "
            "PostgreSQL, or deselect with -m 'not postgres'"
        )
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(POSTGRES_URL)
    name = f"{base.database}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty database URL: SQLite in tmp_path, or this process's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    clear_database(url)
    yield url
    clear_database(url)


@pytest.fixture
def acme_store(db_url: str):
    """A migrated store (each database) with project "acme": ``(session factory, its ingest
    key's principal)``."""
    from themecoder.services import projects
    from themecoder.storage import init_db, make_engine, session_factory

    engine = make_engine(db_url)
    init_db(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        acme = projects.create_project(session, "acme")
        key_id = projects.create_key(session, acme.id, "ingest", "ingest key")[0].id
        who = projects.principal_of_key(session, key_id)
    yield factory, who
    engine.dispose()


@pytest.fixture
def acme_cli_db(tmp_path: Path) -> str:
    """The URL of a migrated SQLite store with project "acme", for the command line."""
    from themecoder.services import projects
    from themecoder.storage import init_db, make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        projects.create_project(session, "acme")
    engine.dispose()
    return url


class ApiHarness:
    """A running app (TestClient) with project "acme" (a key per role) and project "other"."""

    def __init__(self, client, settings, keys: dict[str, str], other: str) -> None:
        self.client = client
        self.settings = settings
        self.keys = keys
        self.other_key = other

    def h(self, role: str = "admin") -> dict[str, str]:
        """Headers carrying the key of ``role`` in project acme ("other": project other)."""
        return {"X-API-Key": self.other_key if role == "other" else self.keys[role]}

    def ingest(self, items: list[dict], role: str = "ingest") -> dict:
        r = self.client.post("/v1/items", headers=self.h(role), json={"items": items})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the session's API tests, as a server keeps one: vectors are
    keyed by embedder and text, so retrains in several tests embed the dev set once."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def api(db_url: str, coder, tmp_path: Path, embedding_cache: Path):
    """The API on a fresh database with the real shipped coder."""
    from fastapi.testclient import TestClient

    from themecoder.config import Settings
    from themecoder.services import projects
    from themecoder.services.codebook import load as load_codebook
    from themecoder.storage import init_db, make_engine, session_factory
    from themecoder_api import create_app

    book = tmp_path / "codebook.yaml"  # a copy of the shipped one, so the pages may edit it
    book.write_text(load_codebook().to_yaml(), encoding="utf-8")
    s = Settings(
        db_url=db_url,
        codebook_path=book,
        project_models_dir=tmp_path / "project-models",
        results_dir=tmp_path / "results",
        max_body_bytes=256 * 1024,
        max_batch_items=100,
        retrain_own_limit=200,
        cache_dir=embedding_cache,
        search_index_dir=tmp_path / "search",  # per database, so per test
    )
    engine = make_engine(db_url)
    init_db(engine)
    keys: dict[str, str] = {}
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        for role in ROLES:
            keys[role] = projects.create_key(session, acme.id, role, f"{role} key")[1]
        keys["reviewer2"] = projects.create_key(session, acme.id, "reviewer", "second reviewer")[1]
        other = projects.create_project(session, "other")
        other_key = projects.create_key(session, other.id, "admin", "other admin")[1]
    engine.dispose()
    with TestClient(create_app(s, coder=coder), raise_server_exceptions=False) as client:
        yield ApiHarness(client, s, keys, other_key)


# -- browser tests ------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("THEMECODER_TEST_CHROMIUM") or "/usr/bin/chromium"
AXE = Path(os.environ.get("THEMECODER_TEST_AXE") or REPO / ".cache/axe-core/4.14.1/axe.min.js")
#: Screenshots and other browser artifacts (ignored by git, kept by CI as artifacts).
ARTIFACTS = REPO / "out" / "browser"


class LiveServer:
    """The app served by uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, app) -> None:
        import threading

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(api, coder):
    """A second app on the ``api`` fixture's database, served over loopback for the browser."""
    from themecoder_api import create_app

    server = LiveServer(create_app(api.settings, coder=coder))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `bash scripts/browser.sh` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


class OfflinePage:
    """A page whose requests may only reach loopback; ``outside`` lists any that tried."""

    def __init__(self, chromium) -> None:
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900})
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)

    def _route(self, route) -> None:
        from urllib.parse import urlparse

        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


@pytest.fixture
def browser_page(chromium):
    """A fresh browser context (own cookies) and page; external requests are refused."""
    made = OfflinePage(chromium)
    yield made
    made.context.close()
    assert not made.outside, f"pages asked for assets outside: {made.outside}"


@pytest.fixture
def page(browser_page):
    return browser_page.page


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core not found at {AXE}: run `bash scripts/browser.sh` (make test does)")
    return AXE.read_text(encoding="utf-8")
