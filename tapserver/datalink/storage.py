"""The SQL of DataLink: datasets with their products, and one product with its dataset's rights.

``datalink.product`` is not readable by the query role: these lookups run on the owner engine, with
bound parameters only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from tapserver.datalink.model import DatasetRights, Product
from tapserver.db import single_statement

# Product's fields in order (the DID from obscore), then DatasetRights' fields after the DID.
_COLUMNS = (
    "p.product_id, o.obs_publisher_did, p.semantics, p.description, p.content_type, p.content_length, "
    "p.content_qualifier, p.local_semantics, p.file_path, p.hdu_name, p.hdu_index, "
    "o.obs_collection, o.data_rights, o.obs_release_date, o.proposal_id"
)
_PRODUCT_FIELDS = len(Product._fields)

#: The datasets among ``ids`` with their products, in psycopg's parameter style (see :func:`grouped_datasets`).
DATASETS_QUERY = (
    f"SELECT {_COLUMNS} "
    "FROM ivoa.obscore AS o LEFT JOIN datalink.product AS p ON p.obs_publisher_did = o.obs_publisher_did "
    "WHERE o.obs_publisher_did = ANY(%(ids)s) "
    "ORDER BY o.obs_publisher_did, p.sort_order, p.product_id"
)
_DATASETS_SQL = text(DATASETS_QUERY.replace("%(ids)s", ":ids"))
_PRODUCT_SQL = text(
    f"SELECT {_COLUMNS} "
    "FROM datalink.product AS p JOIN ivoa.obscore AS o ON o.obs_publisher_did = p.obs_publisher_did "
    "WHERE p.product_id = :product_id"
)


@dataclass(frozen=True)
class DatasetProducts:
    """A dataset and its products in link order (sort_order, then product id)."""

    rights: DatasetRights
    products: tuple[Product, ...]


def _rights(row: Sequence[Any]) -> DatasetRights:
    return DatasetRights(row[1], *row[_PRODUCT_FIELDS:])


def grouped_datasets(rows: Iterable[Sequence[Any]]) -> dict[str, DatasetProducts]:
    """The datasets of the rows of :data:`DATASETS_QUERY`, each with its products."""
    found: dict[str, tuple[DatasetRights, list[Product]]] = {}
    make = Product._make
    for row in rows:
        entry = found.get(row[1])
        if entry is None:
            entry = found[row[1]] = (_rights(row), [])
        if row[0] is not None:
            entry[1].append(make(row[:_PRODUCT_FIELDS]))
    return {did: DatasetProducts(rights, tuple(products)) for did, (rights, products) in found.items()}


class ProductStore:
    """Read access to ``datalink.product`` joined with the rights columns of ``ivoa.obscore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def datasets(self, dids: Sequence[str]) -> dict[str, DatasetProducts]:
        """The datasets among ``dids`` that exist, each with its products (possibly none)."""
        if not dids:
            return {}
        with single_statement(self.engine) as conn:
            return grouped_datasets(conn.execute(_DATASETS_SQL, {"ids": list(dids)}).all())

    def product(self, product_id: str) -> tuple[Product, DatasetRights] | None:
        """One product with the rights of its dataset, or None."""
        with single_statement(self.engine) as conn:
            row = conn.execute(_PRODUCT_SQL, {"product_id": product_id}).first()
        if row is None:
            return None
        return Product._make(row[:_PRODUCT_FIELDS]), _rights(row)
