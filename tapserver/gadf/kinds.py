"""The GADF kind (``HDU_TYPE``, ``HDU_CLASS``) of a DataLink product.

One function, :func:`product_kind`, reads what ``datalink.product`` stores today: the semantics (``#this``
is the event list), the product id's fragment (``...#gti``, ``#aeff``, ``#edisp``, ``#psf``, ``#bkg``,
``#rad_max``, as the ingester names them), the local semantics, and the HDU class the ingester writes in
parentheses at the end of the description (``Effective area (aeff_2d)``), itself taken from HDUCLAS4 or the
source hdu-index. When the stored ``content_qualifier`` (the HEA response-function kinds) is filled for
every product, this function is the one place to switch to it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tapserver.datalink.model import Product

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
_ALIASES = {"effective area": "aeff", "energy dispersion": "edisp", "point spread function": "psf",
            "background": "bkg", "good time intervals": "gti", "event": "events", "event-list": "events"}
_CLASS_IN_DESCRIPTION = re.compile(r"\(([a-z0-9_]+)\)\s*$")


class HduKind(NamedTuple):
    hdu_type: str
    hdu_class: str


def _type_of(product: Product) -> str | None:
    if product.semantics == "#this":
        return "events"
    candidates = [product.product_id.rsplit("#", 1)[-1] if "#" in product.product_id else "",
                  product.local_semantics or "", product.hdu_name or ""]
    for candidate in candidates:
        key = candidate.strip().lower()
        key = _ALIASES.get(key, key)
        if key in HDU_TYPES:
            return key
    return None


def product_kind(product: Product) -> HduKind | None:
    """The GADF kind of a product, or None when it is not an events, GTI or IRF HDU."""
    hdu_type = _type_of(product)
    if hdu_type is None:
        return None
    hdu_class = HDU_TYPES[hdu_type]
    match = _CLASS_IN_DESCRIPTION.search(product.description or "")
    if match and match.group(1) in HDU_CLASSES.get(hdu_type, ()):
        hdu_class = match.group(1)
    return HduKind(hdu_type, hdu_class)
