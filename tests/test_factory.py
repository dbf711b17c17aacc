"""The composition root: one factory per process whose services share its stores; handlers and middleware
build none; the caller's identity read in one place; ``serve``/``demo`` pass settings without the environment."""

from __future__ import annotations

import argparse
import ast
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.authentication import SimpleUser, UnauthenticatedUser

from tapserver import cli
from tapserver.app import create_app
from tapserver.auth.identity import AuthenticatedUser, identity_of
from tapserver.auth.policy import GroupPolicy
from tapserver.config import Settings, load_settings
from tapserver.datalink.rights import NoGrants
from tapserver.factory import Factory

PACKAGE = Path(__file__).resolve().parents[1] / "tapserver"

#: What only the factory constructs: engines, stores, caches and the services handed out per request.
OWNED = frozenset({
    "make_engines", "create_engine", "CatalogCache", "JobStore", "FileResultsStore", "ProductStore", "TokenStore",
    "ObservationStore", "FootprintStore", "DataRoots", "PhaseEvents", "WebContext", "QueryService",
    "JobService", "JobRunner", "BundleJobs", "Reaper", "Worker", "LinksService", "FileService",
    "CutoutService", "DataStoreService", "ProvSAPService",
})

#: The modules that serve requests or start the app's background work.
HANDLER_MODULES = sorted(
    [p.relative_to(PACKAGE.parent).as_posix() for p in (PACKAGE / "handlers").glob("*.py")]
    + ["tapserver/auth/middleware.py", "tapserver/lifespan.py", "tapserver/web/context.py", "tapserver/app.py",
       "tapserver/dependencies.py", "tapserver/observability.py", "tapserver/middleware.py"])


def _called_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else "")
    return names


@pytest.mark.nodb
@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_handlers_build_no_store_or_service(module: str) -> None:
    built = _called_names(PACKAGE.parent / module) & OWNED
    assert not built, f"{module} builds {sorted(built)}: ask the factory (tapserver/factory.py)"


@pytest.mark.nodb
def test_handler_modules_are_found() -> None:
    """The table above is not empty by accident: every router is in it."""
    assert {f"tapserver/handlers/{name}.py" for name in ("tap", "vosi", "uws", "datalink", "gadf", "soda", "web",
                                                        "provsap", "registry")} <= set(HANDLER_MODULES)


def _settings_written(tree: ast.AST) -> list[int]:
    """Lines that write a TAPSERVER_ variable into the process environment (settings passed that way)."""
    def is_setting(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Constant) and str(node.value).startswith("TAPSERVER_")

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Subscript) and ast.unparse(target.value) == "os.environ" \
                        and is_setting(target.slice):
                    lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and ast.unparse(node.func.value) in ("os.environ", "os") \
                and node.func.attr in ("update", "setdefault", "putenv", "__setitem__") and is_setting(node.args[0]):
            lines.append(node.lineno)
    return lines


@pytest.mark.nodb
@pytest.mark.parametrize(("source", "written"), [
    ('os.environ["TAPSERVER_DATA_ROOTS"] = "[]"', [1]),
    ('os.environ.setdefault("TAPSERVER_WORKERS", "2")', [1]),
    ('os.putenv("TAPSERVER_X", "1")', [1]),
    ('os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")', []),  # a library's knob, not a setting
    ('value = os.environ["TAPSERVER_DATA_ROOTS"]', []),
])
def test_settings_written_finds_writes(source: str, written: list[int]) -> None:
    assert _settings_written(ast.parse(source)) == written


@pytest.mark.nodb
@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_code_passes_settings_through_the_environment(path: Path) -> None:
    assert _settings_written(ast.parse(path.read_text())) == [], f"{path}: pass Settings instead"


@pytest.mark.nodb
@pytest.mark.parametrize(("user", "expected"), [
    (AuthenticatedUser("alice", frozenset({"g"})), "alice"),
    (AuthenticatedUser("bob", method="oidc"), "bob"),
    (SimpleUser("carol"), "carol"),  # set by another authentication layer (a trusted proxy)
    (UnauthenticatedUser(), None),
    (None, None),
    (object(), None),
])
def test_identity_of(user: object, expected: str | None) -> None:
    assert identity_of(user) == expected


@pytest.fixture()
def factory(migrated_settings: Settings) -> Iterator[Factory]:
    built = Factory.build(migrated_settings)
    try:
        yield built
    finally:
        built.close()


SHARED: list[tuple[str, Callable[[Factory], object], Callable[[Factory], object]]] = [
    ("query service: catalogs", lambda f: f.create_query_service().catalogs, lambda f: f.catalogs),
    ("query service: engine", lambda f: f.create_query_service().engine, lambda f: f.engines.query),
    ("job service: jobs", lambda f: f.create_job_service().store, lambda f: f.jobs),
    ("job service: results", lambda f: f.create_job_service().results, lambda f: f.results),
    ("job service: events", lambda f: f.create_job_service().events, lambda f: f.events),
    ("links: products", lambda f: f.create_links_service(NoGrants()).store, lambda f: f.products),
    ("files: products", lambda f: f.create_file_service(NoGrants()).store, lambda f: f.products),
    ("files: roots", lambda f: f.create_file_service(NoGrants()).roots, lambda f: f.roots),
    ("cutouts: products", lambda f: f.create_cutout_service(NoGrants()).products, lambda f: f.products),
    ("cutouts: files", lambda f: f.create_cutout_service(NoGrants()).files.store, lambda f: f.products),
    ("data store: engine", lambda f: f.create_datastore_service(NoGrants()).observations.engine,
     lambda f: f.engines.admin),
    ("cutouts: footprints", lambda f: f.create_cutout_service(NoGrants()).footprints, lambda f: f.footprints),
    ("data store: observations", lambda f: f.create_datastore_service(NoGrants()).observations,
     lambda f: f.observations),
    ("data store: roots", lambda f: f.create_datastore_service(NoGrants()).roots, lambda f: f.roots),
    ("provsap: engine", lambda f: f.create_provsap_service().engine, lambda f: f.engines.query),
    ("runner: jobs", lambda f: f.create_job_runner().store, lambda f: f.jobs),
    ("runner: results", lambda f: f.create_job_runner().results, lambda f: f.results),
    ("worker: jobs", lambda f: f.create_worker(1).store, lambda f: f.jobs),
    ("worker: runner's results", lambda f: f.create_worker(1).runner.results, lambda f: f.results),
    ("worker: reaper's jobs", lambda f: f.create_worker(1).reaper.store, lambda f: f.jobs),
]


@pytest.mark.parametrize(("part", "got", "owned"), SHARED, ids=[s[0] for s in SHARED])
def test_services_share_the_factory_parts(factory: Factory, part: str, got: Callable[[Factory], object],
                                          owned: Callable[[Factory], object]) -> None:
    assert got(factory) is owned(factory), part


@pytest.mark.parametrize(("workers", "concurrency", "expected"), [(3, None, 3), (0, None, 1), (0, 4, 4), (2, 5, 5)])
def test_worker_concurrency(migrated_settings: Settings, workers: int, concurrency: int | None,
                            expected: int) -> None:
    built = Factory.build(migrated_settings.model_copy(update={"workers": workers}))
    try:
        assert built.create_worker(concurrency).options.concurrency == expected
    finally:
        built.close()


def test_access_policy_follows_the_settings(migrated_settings: Settings) -> None:
    grants = {"collection:secret": ["team"]}
    built = Factory.build(migrated_settings.model_copy(update={"proprietary_groups": grants, "auth_tokens": True}))
    try:
        policy = built.access_policy(AuthenticatedUser("alice", frozenset({"team"})))
        assert isinstance(policy, GroupPolicy)
        assert policy.groups == frozenset({"team"}) and policy.grants == grants and policy.challenge
        assert built.access_policy(None).groups == frozenset()  # type: ignore[attr-defined]
    finally:
        built.close()


def test_lifespan_builds_one_factory_and_closes_it(migrated_settings: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Factory] = []
    closed: list[Factory] = []
    build, close = Factory.build, Factory.close

    def recorded_build(settings: Settings) -> Factory:
        built.append(build(settings))
        return built[-1]

    def recorded_close(self: Factory) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Factory, "build", recorded_build)
    monkeypatch.setattr(Factory, "close", recorded_close)
    app = create_app(migrated_settings.model_copy(update={"workers": 0}))
    with TestClient(app) as client:
        for path in ("/tap/availability", "/tap/tables", "/tap/async", "/api/stats"):
            assert client.get(path).status_code == 200, path
        assert built == [app.state.factory]  # one, and requests do not rebuild it
        assert app.state.factory.events.connected.is_set()  # the WAIT listener runs
        assert closed == []
    assert closed == built


def test_without_lifespan_a_request_is_a_fault(migrated_settings: Settings) -> None:
    client = TestClient(create_app(migrated_settings))  # not entered: no lifespan, no factory
    response = client.get("/tap/tables")
    assert response.status_code == 500
    assert 'value="ERROR"' in response.text and "not running" in response.text


def _serve_args(workers: int) -> argparse.Namespace:
    return cli.build_parser().parse_args(["serve", "--workers", str(workers), "--port", "0"])


@pytest.mark.nodb
@pytest.mark.parametrize("workers", [1, 3])
def test_uvicorn_gets_an_app_factory_of_these_settings(tmp_path: Path, workers: int) -> None:
    settings = load_settings(database_url="postgresql://nodb@127.0.0.1:9/nodb", title="Factory test archive",
                             data_roots=[tmp_path])
    config = cli.uvicorn_config(_serve_args(workers), settings)
    assert config.factory is True and config.workers == workers
    # what a spawned server process receives (uvicorn pickles the config), and what it builds from it
    make_app = pickle.loads(pickle.dumps(config.app))
    app = make_app()
    assert isinstance(app, FastAPI) and app.title == "Factory test archive"


@pytest.mark.nodb
def test_the_app_factory_unpickles_without_importing_the_app() -> None:
    """A spawned server process unpickles the factory before it can answer uvicorn's health checks: that
    must not wait for the app's imports (children were killed as unresponsive when it did)."""
    settings = load_settings(database_url="postgresql://nodb@127.0.0.1:9/nodb")
    payload = pickle.dumps(cli.uvicorn_config(_serve_args(2), settings).app)
    code = "import pickle, sys; pickle.loads(sys.stdin.buffer.read()); print(sorted(m for m in sys.modules " \
           "if m in ('tapserver.app', 'fastapi', 'sqlalchemy.orm', 'tapserver.factory')))"
    result = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True)
    assert result.stdout.decode().strip() == "[]"


@pytest.mark.parametrize(("workers", "runner"),
                         [(1, "uvicorn.Server.run"), (2, "uvicorn.supervisors.Multiprocess.run")])
def test_serve_runs_uvicorn_with_the_settings(migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                              workers: int, runner: str) -> None:
    ran: list[Any] = []
    monkeypatch.setattr(runner, lambda self, *a, **k: ran.append(self.config))
    monkeypatch.setattr("uvicorn.Config.bind_socket", lambda self: None)
    settings = migrated_settings.model_copy(update={"title": f"served by {workers}"})
    assert cli._serve(_serve_args(workers), settings) == 0
    assert len(ran) == 1 and ran[0].workers == workers
    assert ran[0].app().title == f"served by {workers}"


@pytest.mark.nodb
@pytest.mark.parametrize("given", [[], ["/srv/archive"]])
def test_demo_settings_leave_the_environment_alone(given: list[str]) -> None:
    settings = load_settings(database_url="postgresql://nodb@127.0.0.1:9/nodb", data_roots=given)
    before = dict(os.environ)
    served = cli.demo_settings(settings)
    assert dict(os.environ) == before
    assert served.data_roots == ([Path(g) for g in given] if given else [cli.DEMO_DATA / "data"])
    assert settings.data_roots == [Path(g) for g in given]  # the settings given are not changed either
