"""The `tapserver` command: db upgrade, serve, ingest, demo, adql."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapserver import __version__
from tapserver.config import Settings, SettingsError, get_settings
from tapserver.errors import SetupError, UsageFault

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo"


def _fail(message: str) -> int:
    print(f"tapserver: error: {message}", file=sys.stderr)
    return 1


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from tapserver.migrate import create_database_if_missing, upgrade

    if args.create and create_database_if_missing(settings):
        print(f"created database {settings.admin_url.database}")
    report = upgrade(settings)
    if not report.changed:
        print("database is up to date; nothing changed")
        return 0
    for revision in report.migrations:
        print(f"applied migration {revision}")
    if report.tap_schema_written:
        print("wrote TAP_SCHEMA from the catalog")
    for change in report.grants_changed:
        print(f"reader role: {change}")
    return 0


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Import a server's or worker's modules with the cyclic garbage collector paused: they make hundreds of
    thousands of objects that live as long as the process, and the collections their creation sets off
    (about a tenth of a second of CPU at each start) find next to nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class AppFactory:
    """``create_app(settings)`` for uvicorn, picklable and light: with ``--workers`` > 1 uvicorn pickles it
    into each spawned server process, which must answer uvicorn's health checks while it imports the app
    (so the import happens on the call, not when the factory is unpickled)."""

    settings: Settings

    def __call__(self) -> Any:
        with _collector_paused():
            from tapserver.app import create_app

            return create_app(self.settings)


def uvicorn_config(args: argparse.Namespace, settings: Settings) -> Any:
    """The uvicorn configuration of ``serve`` and ``demo``: each server process serves
    ``create_app(settings)`` with the settings given here, whatever its environment says."""
    import uvicorn

    return uvicorn.Config(
        AppFactory(settings),
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        server_header=False,
        proxy_headers=True,
        # uvicorn's own bounds on clients; it has no read timeout for request headers or bodies: the
        # reverse proxy bounds slow clients (docs/operations.md).
        http=args.http,  # h11 enforces the header size limit below; httptools reads headers of any size
        timeout_keep_alive=args.keep_alive,
        limit_concurrency=args.max_connections,  # connections + requests in flight; beyond: 503
        h11_max_incomplete_event_size=args.max_header_bytes,  # request line and headers
        timeout_graceful_shutdown=args.shutdown_timeout,  # after SIGTERM, open responses are cut
        backlog=args.backlog,
    )


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    with _collector_paused():
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from tapserver.factory import Factory

    factory = Factory.build(settings)
    try:
        factory.check_connections()
    finally:
        factory.close()
    print(f"tapserver {__version__} serving {settings.tap_url} (listening on http://{args.host}:{args.port})")
    config = uvicorn_config(args, settings)
    if config.workers > 1:  # as uvicorn.run does it, which takes only import strings for several workers
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
    return 0


def demo_settings(settings: Settings) -> Settings:
    """The settings ``demo`` serves: DataLink serves the bundled demo files unless data roots are set."""
    if settings.data_roots:
        return settings
    return settings.model_copy(update={"data_roots": [DEMO_DATA / "data"]})


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.cli import run

    return run(args, settings)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run queued jobs until SIGTERM/SIGINT with the job slots of a factory built here; SetupError (one
    clear line) if the database cannot be reached."""
    import logging

    with _collector_paused():
        from tapserver.factory import Factory
        from tapserver.observability import configure_logging, serve_worker_metrics
        from tapserver.uws.worker import run_until_signalled

    if not logging.getLogger().handlers:
        logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The tapserver lines (query log included) in TAPSERVER_LOG_FORMAT, as under `tapserver serve`.
    configure_logging(settings.log_format)
    tapserver_log = logging.getLogger("tapserver")
    tapserver_log.setLevel(args.log_level.upper())
    tapserver_log.propagate = False  # not twice (the root handler above)
    factory = Factory.build(settings)
    try:
        factory.check_connections()
        stop_metrics = serve_worker_metrics(settings)
        try:
            run_until_signalled(factory.create_worker(args.concurrency))
        finally:
            if stop_metrics is not None:
                stop_metrics()
    finally:
        factory.close()
    return 0


def _prov_import(args: argparse.Namespace, settings: Settings) -> int:
    from tapserver.provenance.cli import run

    return run(args, settings)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.cli import run as ingest_run
    from tapserver.migrate import create_database_if_missing, upgrade

    create_database_if_missing(settings)
    upgrade(settings)
    data = DEMO_DATA / "data" / "fact"
    ingest_args = build_parser().parse_args(
        ["ingest", str(data), "--config", str(DEMO_DATA / "fact.toml"), "--quiet"]
    )
    code = ingest_run(ingest_args, settings)
    if code != 0:
        return _fail(f"ingesting the demo data in {data} failed (exit code {code})")
    settings = demo_settings(settings)
    url = f"{settings.base_url}/tap"
    print()
    print(f"  TAP service: {url}")
    print("  pyvo:        python -c \"import pyvo; print(pyvo.dal.TAPService("
          f"'{url}').search('SELECT TOP 5 obs_id, target_name, t_min FROM ivoa.obscore').to_table())\"")
    print(f"  TOPCAT:      VO > Table Access Protocol (TAP) Query > TAP URL: {url}")
    print()
    return _serve(args, settings)


def _adql(args: argparse.Namespace, settings: Settings) -> int:
    from tapserver.adql import translate
    from tapserver.catalog import declared_catalog

    try:
        translation = translate(args.query, declared_catalog(), maxrec=args.maxrec)
    except UsageFault as exc:
        return _fail(str(exc))
    print(translation.sql)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `tapserver` command."""
    parser = argparse.ArgumentParser(
        prog="tapserver", description="IVOA ObsTAP / ProvTAP server for DL3 archives. "
        "Configuration comes from TAPSERVER_* environment variables or a .env file."
    )
    parser.add_argument("--version", action="version", version=f"tapserver {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="create or migrate the schema, TAP_SCHEMA and the reader role",
                           description="Apply migrations, write TAP_SCHEMA from the catalog and set up the "
                           "read-only role. Running it again changes nothing.")
    up.add_argument("--create", action="store_true", help="create the database first if it does not exist")
    up.set_defaults(func=_db_upgrade)

    def add_serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
        p.add_argument("--workers", type=int, default=1, help="HTTP worker processes (default 1)")
        p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
        limits = p.add_argument_group("client limits (uvicorn)")
        limits.add_argument("--keep-alive", type=int, default=5, metavar="S",
                            help="close an idle keep-alive connection after S seconds (default 5)")
        limits.add_argument("--max-connections", type=int, default=1000, metavar="N",
                            help="open connections and requests in flight per process; more get 503 (default 1000)")
        limits.add_argument("--max-header-bytes", type=int, default=65536, metavar="B",
                            help="largest request line plus headers; larger requests are refused (default 65536)")
        limits.add_argument("--shutdown-timeout", type=int, default=30, metavar="S",
                            help="on SIGTERM, wait S seconds for open requests before closing them (default 30)")
        limits.add_argument("--backlog", type=int, default=2048, metavar="N",
                            help="connections waiting to be accepted (default 2048)")
        limits.add_argument("--http", choices=["h11", "httptools"], default="h11",
                            help="HTTP parser: h11 (default) enforces --max-header-bytes; httptools is faster "
                            "but reads headers of any size (only behind a proxy that bounds them)")

    serve = sub.add_parser("serve", help="serve the TAP service over HTTP",
                           description="Serve TAP, VOSI, DataLink and the web pages with uvicorn.")
    add_serve_options(serve)
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run queued async (UWS) jobs",
                            description="Claim queued async jobs from the database and run them until stopped "
                            "(SIGTERM or Ctrl-C). Any number of workers may run against one database.")
    worker.add_argument("--concurrency", type=int, default=None,
                        help="jobs run at once (default: TAPSERVER_WORKERS, at least 1)")
    worker.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    worker.set_defaults(func=_worker)

    prov = sub.add_parser("prov", help="provenance administration")
    prov_sub = prov.add_subparsers(dest="prov_command", metavar="ACTION", required=True)
    prov_import = prov_sub.add_parser("import", help="load PROV documents or ctapipe provenance logs",
                                      description="Load PROV-JSON/XML/N documents or ctapipe *.provenance.log "
                                      "files into the provenance tables, idempotently.")
    from tapserver.provenance.cli import add_arguments as add_prov_arguments

    add_prov_arguments(prov_import)
    prov_import.set_defaults(func=_prov_import)

    # operator-issued bearer tokens (tapserver.auth.cli)
    token = sub.add_parser("token", help="bearer tokens: create, revoke, list",
                           description="Issue, revoke and list the bearer tokens users authenticate with.")
    from tapserver.auth.cli import add_arguments as add_token_arguments
    from tapserver.auth.cli import run as token_run

    add_token_arguments(token)
    token.set_defaults(func=token_run)

    ingest = sub.add_parser("ingest", help="ingest DL3 FITS files into the archive",
                            description="Read DL3 files (and GADF index tables) and load ObsCore, ObsConfig, "
                            "DataLink and provenance rows. Safe to re-run.")
    from ingest.cli import add_arguments

    add_arguments(ingest)
    ingest.set_defaults(func=_ingest)

    demo = sub.add_parser("demo", help="set up a database, ingest the FACT demo data and serve",
                          description="Create and migrate the database, ingest the bundled FACT open data "
                          "and serve it.")
    add_serve_options(demo)
    demo.set_defaults(func=_demo)

    adql = sub.add_parser("adql", help="print the PostgreSQL that an ADQL query becomes",
                          description="Translate ADQL against the declared catalog and print the SQL.")
    adql.add_argument("query", help="the ADQL query")
    adql.add_argument("--maxrec", type=int, default=None, help="apply this MAXREC")
    adql.set_defaults(func=_adql)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        return int(args.func(args, settings))
    except (SetupError, SettingsError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
