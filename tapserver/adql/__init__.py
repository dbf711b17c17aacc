"""ADQL 2.1 -> PostgreSQL/pgsphere, built on sqlglot.

``parse(text)`` reads a query (``ADQLSyntaxError`` with line and column if it cannot), and
``translate(text, catalog, maxrec=..., uploads=..., rewrites=...)`` validates it against the published catalog and
returns a :class:`Translation`: the SQL to run as the read-only role and the metadata of each result
column. ``FEATURES`` lists the language features for the TAPRegExt capabilities.
"""

from __future__ import annotations

from tapserver.adql.errors import ADQLError, ADQLSyntaxError
from tapserver.adql.expressions import ColumnRewrite
from tapserver.adql.features import FEATURES, Feature, features_by_type
from tapserver.adql.functions import ALLOWED_FUNCTIONS
from tapserver.adql.metadata import ResultColumn
from tapserver.adql.syntax import parse
from tapserver.adql.translate import Translation, translate

__all__ = [
    "ALLOWED_FUNCTIONS",
    "FEATURES",
    "ADQLError",
    "ADQLSyntaxError",
    "ColumnRewrite",
    "Feature",
    "ResultColumn",
    "Translation",
    "features_by_type",
    "parse",
    "translate",
]
