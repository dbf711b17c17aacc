"""The composition root: everything a server or worker process holds, built once from the settings.

:meth:`Factory.build` makes the engines, the catalog cache, the stores (jobs, results, products, tokens),
the phase listener and the web caches; the app lifespan and ``tapserver worker`` each build one and
:meth:`Factory.close` it at the end. Handlers get it through :func:`tapserver.dependencies.get_factory`
and ``tapserver worker`` through :meth:`Factory.create_worker`; both ask it for services (``create_*``) and
never build a store themselves. Services are cheap objects made per request around the shared stores.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tapserver.auth.policy import policy_for
from tapserver.auth.tokens import TokenStore
from tapserver.catalog.cache import CatalogCache
from tapserver.config import Settings
from tapserver.datalink.files import DataRoots, FileService
from tapserver.datalink.links import LinksService
from tapserver.datalink.rights import AccessPolicy
from tapserver.datalink.storage import ProductStore
from tapserver.db import Engines, check_connection, make_engines
from tapserver.gadf.job import BundleJobs
from tapserver.gadf.service import DataStoreService
from tapserver.gadf.storage import ObservationStore
from tapserver.provenance.service import Limits, ProvSAPService
from tapserver.soda.service import CutoutService
from tapserver.soda.storage import FootprintStore
from tapserver.tap.jobs import JobRunner
from tapserver.tap.query import QueryService
from tapserver.uws.events import PhaseEvents
from tapserver.uws.reaper import Reaper
from tapserver.uws.results import FileResultsStore, ResultsStore
from tapserver.uws.service import JobService
from tapserver.uws.store import JobStore
from tapserver.uws.worker import Worker, WorkerOptions, libpq_conninfo
from tapserver.web.context import WebContext


class Factory:
    """Owns the long-lived parts of a process and hands out the services built on them."""

    def __init__(self, settings: Settings, engines: Engines, *, results: ResultsStore | None = None) -> None:
        self.settings = settings
        self.engines = engines
        self.started = datetime.now(UTC)
        self.catalogs = CatalogCache(engines.query)
        self.jobs = JobStore(engines.admin)
        self.results: ResultsStore = results or FileResultsStore(settings.data_dir)
        self.products = ProductStore(engines.admin)
        self.observations = ObservationStore(engines.admin)
        self.footprints = FootprintStore(engines.admin)
        self.tokens: TokenStore = TokenStore(engines.admin)
        self.roots = DataRoots(settings.data_roots)
        #: The LISTEN connection for WAIT; started and stopped by the app lifespan (workers do not use it).
        self.events = PhaseEvents(libpq_conninfo(settings))
        #: The caches of the pages (archive statistics, coverage, sky map).
        self.web: WebContext = WebContext.build(engines.query)

    @classmethod
    def build(cls, settings: Settings) -> Factory:
        """The factory of a process: engines (connection pools) are made here and only here."""
        return cls(settings, make_engines(settings))

    def check_connections(self) -> None:
        """SetupError (one line naming the database and role) unless both engines can connect."""
        settings = self.settings
        check_connection(self.engines.admin, f"the database {settings.admin_url.render_as_string(hide_password=True)}")
        check_connection(self.engines.query, f"the database as the reader role {settings.reader_role!r}")

    def close(self) -> None:
        """Release the connection pools."""
        self.engines.dispose()

    # -- authorisation --------------------------------------------------------------------------------

    def access_policy(self, user: object) -> AccessPolicy:
        """The grants of a caller (``request.user``) on restricted datasets."""
        return policy_for(self.settings, user)

    # -- TAP, provenance ------------------------------------------------------------------------------

    def create_query_service(self) -> QueryService:
        return QueryService(self.settings, self.engines.query, self.catalogs)

    def create_provsap_service(self) -> ProvSAPService:
        return ProvSAPService(self.engines.query, Limits.from_settings(self.settings))

    # -- DataLink, SODA, GADF -------------------------------------------------------------------------

    def create_links_service(self, policy: AccessPolicy) -> LinksService:
        return LinksService(self.products, self.settings.base_url, policy)

    def create_file_service(self, policy: AccessPolicy) -> FileService:
        return FileService(self.products, self.roots, policy)

    def create_cutout_service(self, policy: AccessPolicy) -> CutoutService:
        return CutoutService(self.products, self.create_file_service(policy), self.footprints)

    def create_datastore_service(self, policy: AccessPolicy) -> DataStoreService:
        return DataStoreService(self.observations, self.roots, policy)

    # -- UWS --------------------------------------------------------------------------------------------

    def create_job_service(self) -> JobService:
        return JobService(self.settings, self.jobs, self.results, self.events)

    def create_job_runner(self) -> JobRunner:
        """Runs TAP query jobs, and the GADF bundle jobs (recognised by their stored selection)."""
        bundles = BundleJobs(self.results, self.create_datastore_service)
        return JobRunner(self.settings, self.jobs, self.results, self.create_query_service(), kinds=bundles.kind_of)

    def create_reaper(self, overdue_grace_s: int = 60) -> Reaper:
        return Reaper(self.jobs, self.results, overdue_grace_s=overdue_grace_s)

    def create_worker(self, concurrency: int | None = None, options: WorkerOptions | None = None) -> Worker:
        """Job slots running on this factory's stores (``concurrency`` default: ``Settings.workers``, at
        least 1)."""
        if options is None:
            options = WorkerOptions(concurrency=concurrency or max(1, self.settings.workers))
        return Worker(self.settings, self.jobs, self.create_job_runner(),
                      self.create_reaper(options.overdue_grace_s), options)
