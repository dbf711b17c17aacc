"""The GADF kind of DataLink products as the ingester records them."""

from __future__ import annotations

import pytest

from tapserver.datalink.model import Product
from tapserver.gadf.kinds import HduKind, product_kind


def product(product_id: str, semantics: str, description: str | None = None, hdu_name: str | None = None,
            local_semantics: str | None = None) -> Product:
    return Product(product_id, "ivo://x/y?1", semantics, description, "application/fits", None, None,
                   local_semantics, "/data/f.fits", hdu_name, None)


@pytest.mark.parametrize(("item", "kind"), [
    (product("d#events", "#this", "DL3 event list"), HduKind("events", "events")),
    (product("d#gti", "#auxiliary", "Good time intervals (gti)", "GTI"), HduKind("gti", "gti")),
    (product("d#aeff", "#calibration", "Effective area (aeff_2d)", "AEFF"), HduKind("aeff", "aeff_2d")),
    (product("d#psf", "#calibration", "Point spread function (psf_3gauss)", "POINT SPREAD FUNCTION"),
     HduKind("psf", "psf_3gauss")),
    (product("d#psf", "#calibration", "Point spread function (psf_table)", "PSF"), HduKind("psf", "psf_table")),
    (product("d#bkg", "#calibration", "Background model (bkg_2d)"), HduKind("bkg", "bkg_2d")),
    (product("d#rad_max", "#calibration", "Energy-dependent RAD_MAX (point-like cut) (rad_max_2d)"),
     HduKind("rad_max", "rad_max_2d")),
    # by EXTNAME when the fragment says nothing; a class that does not fit the type is not taken
    (product("d#x1", "#calibration", "IRF (bkg_3d)", "ENERGY DISPERSION"), HduKind("edisp", "edisp_2d")),
    (product("d#x2", "#calibration", None, None, "effective area"), HduKind("aeff", "aeff_2d")),
    (product("d#primary", "#auxiliary", None, "PRIMARY"), None),
    (product("d#preview", "#preview", "Counts map"), None),
])
def test_product_kind(item: Product, kind: HduKind | None) -> None:
    assert product_kind(item) == kind
