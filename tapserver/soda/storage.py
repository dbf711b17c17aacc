"""The SQL of cutouts: does a dataset's field of view (``ivoa.obscore.s_region``) meet a SODA shape?

pgsphere decides (it knows great circles, RA wrap and the small circles of a RANGE); the shape is built
from bound numbers, never from user text.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, InternalError

from tapserver.errors import UsageFault
from tapserver.soda.params import Circle, Range, Shape

_CIRCLE = "scircle(spoint(radians(:a), radians(:b)), radians(:c))"
_RANGE = "sbox(spoint(radians(:a), radians(:c)), spoint(radians(:b), radians(:d)))"
_POLYGON = "CAST(:poly AS spoly)"


def _shape_sql(shape: Shape) -> tuple[str, dict[str, object]]:
    if isinstance(shape, Circle):
        return _CIRCLE, {"a": shape.ra, "b": shape.dec, "c": shape.radius}
    if isinstance(shape, Range):
        ra_max = shape.ra_max if shape.ra_max != shape.ra_min else shape.ra_min + 360.0
        return _RANGE, {"a": shape.ra_min, "b": ra_max, "c": shape.dec_min, "d": shape.dec_max}
    poly = "{" + ",".join(f"({ra:.12f}d,{dec:.12f}d)" for ra, dec in shape.vertices) + "}"
    return _POLYGON, {"poly": poly}


class FootprintStore:
    """Spatial overlap of a dataset with a cutout shape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def overlaps(self, did: str, shape: Shape) -> bool | None:
        """True/False when the dataset's s_region meets ``shape``, None when it has no s_region."""
        shape_sql, params = _shape_sql(shape)
        sql = text(f"SELECT s_region && {shape_sql} FROM ivoa.obscore WHERE obs_publisher_did = :did")
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sql, {**params, "did": did}).first()
        except (DataError, InternalError) as exc:  # pgsphere refuses the polygon (crossing edges, degenerate)
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid shape"
            raise UsageFault(f"the shape is not a valid spherical region: {first}") from None
        return None if row is None or row[0] is None else bool(row[0])
