"""The GADF kind (``HDU_TYPE``, ``HDU_CLASS``) of a DataLink product.

The kind is what the ingester stored for the product: ``datalink.product.local_semantics`` (``events``,
``gti``, ``aeff`` ..., the names of :mod:`tapserver.datalink.vocabulary`, whose ``content_qualifier`` is the
vocabulary term of the same kind); the HDU class refines it where the ingester wrote the class it read
(HDUCLAS4 or the source hdu-index) in parentheses at the end of the description
(``Effective area (aeff_2d)``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from tapserver.datalink.model import Product
from tapserver.datalink.vocabulary import kind_of

#: GADF HDU_TYPE values and the HDU_CLASS used when the product does not say which one.
HDU_TYPES = {
    "events": "events",
    "gti": "gti",
    "aeff": "aeff_2d",
    "edisp": "edisp_2d",
    "psf": "psf_table",
    "bkg": "bkg_3d",
    "rad_max": "rad_max_2d",
}
#: HDU_CLASS values of the GADF hdu-index (data_storage/hdu_index) per HDU_TYPE.
HDU_CLASSES = {
    "aeff": ("aeff_2d",),
    "edisp": ("edisp_2d",),
    "psf": ("psf_table", "psf_3gauss", "psf_king", "psf_gtpsf"),
    "bkg": ("bkg_2d", "bkg_3d"),
    "rad_max": ("rad_max_2d",),
}
_CLASS_IN_DESCRIPTION = re.compile(r"\(([a-z0-9_]+)\)\s*$")


class HduKind(NamedTuple):
    hdu_type: str
    hdu_class: str


def product_kind(product: Product) -> HduKind | None:
    """The GADF kind of a product, or None when it is not an events, GTI or IRF HDU."""
    return _kind(product.local_semantics or "", product.description or "")


@lru_cache(maxsize=4096)
def _kind(local_semantics: str, description: str) -> HduKind | None:
    """Cached: a bundle asks for every product of its selection, whose kinds repeat run after run."""
    kind = kind_of(local_semantics)
    hdu_type = kind.name if kind is not None and kind.name in HDU_TYPES else None
    if hdu_type is None:
        return None
    hdu_class = HDU_TYPES[hdu_type]
    match = _CLASS_IN_DESCRIPTION.search(description)
    if match and match.group(1) in HDU_CLASSES.get(hdu_type, ()):
        hdu_class = match.group(1)
    return HduKind(hdu_type, hdu_class)
