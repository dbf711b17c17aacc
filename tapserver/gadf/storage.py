"""The SQL of GADF data stores: the observation rows (ObsCore joined with ObsConfig) of a selection, and
the publisher DIDs an ADQL query selects (run as the read-only query role with a time limit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Engine

from tapserver.adql import Translation
from tapserver.dali.dbfaults import fault_from_database
from tapserver.datalink.descriptors import publisher_did_field
from tapserver.datalink.storage import DATASETS_QUERY, DatasetProducts, grouped_datasets
from tapserver.db import single_statement

_OBSERVATIONS_QUERY = (
    "SELECT o.obs_publisher_did, o.obs_collection, o.obs_id, o.target_name, o.s_ra, o.s_dec, o.t_min, o.t_max, "
    "o.t_exptime, c.ra_pnt, c.dec_pnt, c.alt_pnt, c.az_pnt, c.zen_pnt, c.ontime, c.livetime, c.deadc, "
    "c.obs_mode, c.n_tels, c.tel_list, c.object, c.geolon, c.geolat, c.altitude "
    "FROM ivoa.obscore AS o LEFT JOIN obsconfig.obsconfig AS c ON c.obs_publisher_did = o.obs_publisher_did "
    "WHERE o.obs_publisher_did = ANY(%(ids)s)"
)


class ObservationStore:
    """Observation metadata for index tables, with the datasets' products."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def with_datasets(self, dids: Sequence[str]) -> tuple[dict[str, DatasetProducts], dict[str, dict[str, Any]]]:
        """:meth:`ProductStore.datasets` and :meth:`observations` of ``dids`` in one round trip: both
        statements go in one pipeline (one implicit transaction, so one snapshot) on one connection."""
        if not dids:
            return {}, {}
        ids = {"ids": list(dids)}
        with single_statement(self.engine) as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.pipeline():
                products = raw.execute(DATASETS_QUERY, ids)
                observations = raw.cursor(row_factory=dict_row).execute(_OBSERVATIONS_QUERY, ids)
            datasets = grouped_datasets(products.fetchall())
            rows = observations.fetchall()
        return datasets, {str(row["obs_publisher_did"]): row for row in rows}


def selected_dids(engine: Engine, translation: Translation, timeout_s: float) -> list[str] | None:
    """The publisher DIDs in the result of a translated ADQL query (None when it selects no DID column)."""
    index = publisher_did_field(translation.columns)
    if index is None:
        return None
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        try:
            with raw.cursor() as cur:  # no parameters: the SQL is sent as it is (no placeholder parsing)
                cur.execute("SET TRANSACTION READ ONLY; "
                            f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
                cur.execute(translation.sql)
                rows = cur.fetchall()
        except psycopg.Error as exc:  # a timeout, a division by zero...: the user's query, a DALI fault
            raise fault_from_database(exc, timeout_s=timeout_s) from None
        finally:
            raw.rollback()
    return [str(row[index]) for row in rows if row[index] is not None]
