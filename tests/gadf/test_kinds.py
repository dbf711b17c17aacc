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
    (product("d#events", "#this", "DL3 event list", None, "events"), HduKind("events", "events")),
    (product("d#gti", "#auxiliary", "Good time intervals (gti)", "GTI", "gti"), HduKind("gti", "gti")),
    (product("d#aeff", "#calibration", "Effective area (aeff_2d)", "AEFF", "aeff"), HduKind("aeff", "aeff_2d")),
    (product("d#psf", "#calibration", "Point spread function (psf_3gauss)", "POINT SPREAD FUNCTION", "psf"),
     HduKind("psf", "psf_3gauss")),
    (product("d#psf", "#calibration", "Point spread function (psf_table)", "PSF", "psf"),
     HduKind("psf", "psf_table")),
    (product("d#bkg", "#calibration", "Background model (bkg_2d)", None, "bkg"), HduKind("bkg", "bkg_2d")),
    (product("d#rad_max", "#calibration", "Energy-dependent RAD_MAX (point-like cut) (rad_max_2d)", None,
             "rad_max"), HduKind("rad_max", "rad_max_2d")),
    # the stored kind decides, not the fragment or EXTNAME; a class that does not fit the kind is not taken
    (product("d#aeff", "#calibration", "IRF (bkg_3d)", "ENERGY DISPERSION", "edisp"), HduKind("edisp", "edisp_2d")),
    (product("d#aeff", "#calibration", "Effective area (aeff_2d)", "AEFF", None), None),
    (product("d#pointing", "#auxiliary", "Pointing history", "POINTING", "pointing"), None),
    (product("d#preview", "#preview", "Counts map"), None),
])
def test_product_kind(item: Product, kind: HduKind | None) -> None:
    assert product_kind(item) == kind
