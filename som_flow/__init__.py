"""som_flow: a sales opportunity manager whose sales processes are BPMN. Nothing happens at import."""

from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask

from som_flow.clock import Clock, SystemClock

__all__ = ["create_app", "tune_collector"]


def create_app(config: object | dict | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the Flask app. `config` is a config class/object or a mapping of overrides."""
    from som_flow.config import Config, instance_secret_key
    from som_flow.extensions import configure_sqlite, csrf, db, login_manager

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from som_flow.logs import configure_logging, install_request_ids

    install_request_ids()
    if app.config.get("LOG_FORMAT"):
        configure_logging(app.config["LOG_FORMAT"], app.config.get("LOG_LEVEL") or "INFO")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # the client's address (the login throttle's key) and scheme, as the trusted proxies report them
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'som_flow.sqlite'}"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        # psycopg 3 is the driver we ship
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )

    app.extensions["som_clock"] = clock or SystemClock()
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)

    from flask_migrate import Migrate

    Migrate(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)

    from som_flow import models  # noqa: F401 - register the mappers
    from som_flow.services.unit_of_work import end_read_request, install_timestamps
    from som_flow.web import register_web

    install_timestamps()

    @app.teardown_request
    def _end_read(error: BaseException | None) -> None:
        from flask import request

        end_read_request(request.method, error)

    register_web(app)
    from som_flow.cli import register_cli

    register_cli(app)
    return app


# a young collection once this many more objects are alive than at the last one (CPython's default: 700)
COLLECT_AFTER = 10_000


def tune_collector(app: Flask | None = None) -> None:
    """For a server process, once its app is built: what was made at start (the app, the libraries, the parsed
    processes: most of the heap) is kept out of the cyclic collector's sight, and the youngest generation is
    collected after 10,000 allocations rather than CPython's 700. A board of 200 cards made ~3 collections, and
    about every 100th request paid a full one over the whole heap (~100 ms at its p99); bench/RESULTS.md, "the
    collector". Not for tests or the CLI: a frozen object is never collected.

    With `app` (the one a WSGI server serves), those collections run after a response has been sent, not in the
    middle of the next request: a young collection took 6–10 ms at 100,000 deals and fell in one board request of
    eight, most of its p95 (bench/RESULTS.md, "the collector after the response"). The collector's own trigger stays
    as a backstop, ten times further out, for a burst of requests on several threads."""
    gc.freeze()
    if app is None:
        gc.set_threshold(COLLECT_AFTER, 10, 10)
        return
    gc.set_threshold(10 * COLLECT_AFTER, 10, 10)
    app.wsgi_app = _collect_after_response(app.wsgi_app)


def _collect_after_response(wsgi_app):
    from werkzeug.wsgi import ClosingIterator

    def collect() -> None:
        young, collections, older = gc.get_count()
        if young >= COLLECT_AFTER:  # the generation CPython's own trigger would pick
            gc.collect(2 if older >= 10 else 1 if collections >= 10 else 0)

    def middleware(environ, start_response):
        # the server closes the response once it has sent it: the collection runs then
        return ClosingIterator(wsgi_app(environ, start_response), collect)

    return middleware
