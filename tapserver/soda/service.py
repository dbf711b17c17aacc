"""The cutout service: a dataset identifier and a cut become an :class:`EventCutout` ready to stream.

Rights and file safety are those of ``/files``: the event file is opened through
:class:`tapserver.datalink.files.FileService` (data roots, no symlink escapes, proprietary data only for
callers the access policy grants). IRF HDUs recorded as ``#calibration`` products in other files than the
event file (FACT, CTA 1DC) are appended to the cutout, so that one file holds a whole observation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, BinaryIO, cast

from tapserver.datalink.files import FileService, ProductFile
from tapserver.datalink.model import FITS_BLOCK, FITS_MIME, Product
from tapserver.datalink.storage import ProductStore
from tapserver.errors import NotFoundFault
from tapserver.soda.params import Cut, Polygon, Shape
from tapserver.soda.storage import FootprintStore

if TYPE_CHECKING:
    # astropy and numpy: imported with the first cutout, not by every process that builds the service
    from tapserver.soda.eventfile import EventCutout

_GZIP_MAGIC = b"\x1f\x8b"
_FITS_SUFFIXES = (".fits.gz", ".fits", ".fit", ".fts")


@dataclass
class _ProductHDU:
    """An extension HDU of another file, streamed verbatim (without the primary /files puts before it)."""

    opened: ProductFile

    def __iter__(self) -> Iterator[bytes]:
        start = FITS_BLOCK if self.opened.product.is_extension else 0
        return self.opened.iter_range(start, self.opened.length)

    def close(self) -> None:
        self.opened.close()


@dataclass
class Cutout:
    """A prepared cutout and the name offered for it."""

    body: EventCutout
    filename: str
    media_type: str = FITS_MIME


def cutout_name(product_id: str, source_name: str) -> str:
    stem = source_name
    for suffix in _FITS_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return f"{stem or 'events'}_cutout.fits"


class CutoutService:
    """Event-list cutouts. No HTTP in here."""

    def __init__(self, products: ProductStore, files: FileService, footprints: FootprintStore) -> None:
        self.products = products
        self.files = files
        self.footprints = footprints

    def open(self, did: str, cut: Cut, caller: str | None) -> Cutout:
        """Check the request, open the files and cut EVENTS and GTI (the stream has not started yet)."""
        entry = self.products.datasets([did]).get(did)
        if entry is None:
            raise NotFoundFault(f"{did} is not a dataset of this service")
        events = next((p for p in entry.products if p.semantics == "#this" and not p.is_hdu), None)
        if events is None:
            raise NotFoundFault(f"no event file is recorded for {did}")
        opened = self.files.open_product(events, entry.rights, caller)  # rights, data roots
        try:
            footprint = self._footprint(did, cut.shape)
            extra = [_ProductHDU(self.files.open_product(p, entry.rights, caller))
                     for p in self._irfs_elsewhere(entry.products, events)]
        except BaseException:
            opened.close()
            raise
        for hdu in extra:
            hdu.opened.prepare()
        stream = self._decompressed(opened.raw)

        def close_source() -> None:
            if stream is not opened.raw:
                stream.close()
            opened.close()

        from tapserver.soda.eventfile import EventCutout

        body = EventCutout(stream=stream, cut=cut, close_source=close_source, extra_hdus=list(extra),
                           footprint=footprint)
        body.prepare()
        return Cutout(body=body, filename=cutout_name(events.product_id, opened.source_name))

    def _footprint(self, did: str, shape: Shape | None) -> Callable[[], bool | None] | None:
        """Whether the region meets the dataset's recorded field of view, as a question the cut asks only
        when no event lies inside the region (events inside it show the overlap without a query); a polygon
        is asked at once, pgsphere checking that it is a valid spherical polygon."""
        if shape is None:
            return None
        if isinstance(shape, Polygon):
            overlap = self.footprints.overlaps(did, shape)
            return lambda: overlap
        return partial(self.footprints.overlaps, did, shape)

    @staticmethod
    def _irfs_elsewhere(products: tuple[Product, ...], events: Product) -> list[Product]:
        """The IRF HDUs that are not in the event file, each once, in link order."""
        here = os.path.realpath(events.file_path)
        seen: set[tuple[str, str | None, int | None]] = set()
        out = []
        for product in products:
            if product.semantics != "#calibration" or not product.is_hdu:
                continue
            key = (os.path.realpath(product.file_path), product.hdu_name, product.hdu_index)
            if key[0] == here or key in seen:
                continue
            seen.add(key)
            out.append(product)
        return out

    @staticmethod
    def _decompressed(raw: BinaryIO) -> BinaryIO:
        magic = raw.read(2)
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            from isal import igzip

            return cast(BinaryIO, igzip.GzipFile(fileobj=raw, mode="rb"))
        return raw
