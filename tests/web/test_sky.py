"""The geometry behind the maps: HEALPix outlines (checked against mocpy), the projection, cutting outlines at
the map's edge and around the poles, the galactic frame, and the MOC served at /tap/coverage."""

from __future__ import annotations

import io
import json
import math
import random

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from mocpy import MOC

from tapserver.errors import UsageFault
from tapserver.web.coverage import build_coverage, response_format
from tapserver.web.healpix import cell_center, cell_outline, cell_outlines
from tapserver.web.plots import nice_ticks
from tapserver.web.sky import (
    SQRT2,
    circle_outline,
    galactic_to_icrs,
    galactic_to_icrs_arrays,
    galactic_to_icrs_matrix,
    hammer,
    split_ring,
)
from tapserver.web.stats import Footprint, wavelength_to_tev

pytestmark = pytest.mark.nodb


def _cell_of(ra: float, dec: float, order: int) -> int:
    moc = MOC.from_lonlat(lon=np.array([ra]) * u.deg, lat=np.array([dec]) * u.deg, max_norder=order)
    (cell,) = moc.flatten()
    return int(cell)


@pytest.mark.parametrize("order", [0, 1, 3, 6, 9, 13])
def test_healpix_cells_agree_with_mocpy(order: int) -> None:
    rng = random.Random(order)
    for _ in range(60):
        ipix = rng.randrange(12 * 4**order)
        ra, dec = cell_center(order, ipix)
        assert _cell_of(ra, dec, order) == ipix
        for vra, vdec in cell_outline(order, ipix, step=2):
            if abs(vdec) > 89.999:
                continue  # a pole has no longitude to move along
            # a point just inside the corner, towards the centre, lies in the same cell
            inside_ra = vra + ((ra - vra + 180) % 360 - 180) * 0.02
            inside_dec = vdec + (dec - vdec) * 0.02
            assert _cell_of(inside_ra, inside_dec, order) == ipix


@pytest.mark.parametrize(("order", "cells", "step"), [
    (0, [0, 4, 11], 1),
    (3, [100, 7, 767], 2),
    (5, [12287, 0, 4000], 4),
])
def test_cell_outlines_start_at_the_north_corner_and_agree_one_by_one(
        order: int, cells: list[int], step: int) -> None:
    outlines = cell_outlines(order, cells, step)
    assert outlines.shape == (len(cells), 4 * step, 2)
    for ipix, outline in zip(cells, outlines, strict=True):
        assert cell_outline(order, ipix, step) == [tuple(p) for p in outline.tolist()]
        decs = outline[:, 1]
        # corners at 0, step, 2 step, 3 step: north, west (or east), south, east (or west)
        assert decs[0] == pytest.approx(decs.max()) and decs[2 * step] == pytest.approx(decs.min())


def test_hammer_aitoff_extremes() -> None:
    assert hammer(0, 0) == (0.0, 0.0)
    x, y = hammer(180, 0)
    assert x == pytest.approx(2 * SQRT2) and y == pytest.approx(0)
    x, y = hammer(0, 90)
    assert x == pytest.approx(0) and y == pytest.approx(SQRT2)


def test_galactic_centre_and_pole_in_icrs() -> None:
    ra, dec = galactic_to_icrs(0, 0)
    assert ra == pytest.approx(266.405, abs=0.01) and dec == pytest.approx(-28.936, abs=0.01)
    ra, dec = galactic_to_icrs(0, 90)
    assert ra == pytest.approx(192.859, abs=0.01) and dec == pytest.approx(27.128, abs=0.01)


def test_galactic_rotation_is_the_hipparcos_one() -> None:
    # ICRS -> galactic as published for Hipparcos (ESA 1997, vol. 1, sect. 1.5.3); ours is galactic -> ICRS
    hipparcos = np.array([
        [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
        [0.4941094278755837, -0.4448296299600112, 0.7469822444972189],
        [-0.8676661490190047, -0.1980763734312015, 0.4559837761750669],
    ])
    assert np.abs(galactic_to_icrs_matrix() - hipparcos.T).max() < math.radians(0.1 / 3600)


def test_galactic_arrays_agree_with_skycoord() -> None:
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(0, 360, 200), np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))
    ra, dec = galactic_to_icrs_arrays(lon, lat)
    icrs = SkyCoord(l=lon * u.deg, b=lat * u.deg, frame="galactic").icrs
    sep = SkyCoord(ra=ra * u.deg, dec=dec * u.deg).separation(icrs)
    assert sep.to_value(u.arcsec).max() < 1e-6
    assert galactic_to_icrs(lon[0], lat[0]) == pytest.approx((ra[0], dec[0]))


def test_circle_outline_is_at_the_radius() -> None:
    for lon, lat in circle_outline(83.63, 22.01, 2.25, n=36):
        c1 = math.radians(22.01)
        c2 = math.radians(lat)
        cos_d = (math.sin(c1) * math.sin(c2)
                 + math.cos(c1) * math.cos(c2) * math.cos(math.radians(lon - 83.63)))
        assert math.degrees(math.acos(min(1.0, cos_d))) == pytest.approx(2.25, abs=1e-6)


def test_an_ordinary_footprint_stays_whole() -> None:
    (piece,) = split_ring(circle_outline(83.63, 22.01, 2.25))
    lams = [lam for lam, _ in piece]
    # RA 83.6 is 83.6 deg from the centre (RA 0)
    assert min(lams) == pytest.approx(83.63 - 2.43, abs=0.1) and max(lams) == pytest.approx(83.63 + 2.43, abs=0.1)


def test_a_footprint_on_the_edge_is_cut_in_two() -> None:
    pieces = split_ring(circle_outline(180.5, 10.0, 3.0))
    assert len(pieces) == 2
    for piece in pieces:
        assert all(-180.0 <= lam <= 180.0 for lam, _ in piece)
    sides = sorted(max(abs(lam) for lam, _ in piece) for piece in pieces)
    assert sides == [pytest.approx(180.0), pytest.approx(180.0)]


def test_a_footprint_around_the_pole_is_closed_through_it() -> None:
    pieces = split_ring(circle_outline(10.0, 88.0, 5.0))
    assert pieces
    lats = [lat for piece in pieces for _, lat in piece]
    assert max(lats) == pytest.approx(90.0)
    lams = [lam for piece in pieces for lam, _ in piece]
    assert min(lams) == pytest.approx(-180.0) and max(lams) == pytest.approx(180.0)


def test_nice_ticks() -> None:
    assert nice_ticks(0.0, 10.0, 5) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(56600.05, 56600.15, 4) == pytest.approx([56600.05, 56600.075, 56600.1, 56600.125, 56600.15])


def test_wavelength_to_energy() -> None:
    assert wavelength_to_tev(1.23984198e-18) == pytest.approx(1.0)
    assert wavelength_to_tev(None) is None and wavelength_to_tev(0.0) is None


def test_coverage_is_the_union_of_the_fields_of_view() -> None:
    fovs = [Footprint(83.63, 22.01, 2.25), Footprint(83.63, 22.51, 2.25), Footprint(300.0, -60.0, 1.0)]
    coverage = build_coverage("fp", fovs, order=9)
    cap = 2 * math.pi * (1 - math.cos(math.radians(2.25)))
    small = 2 * math.pi * (1 - math.cos(math.radians(1.0)))
    # the first two overlap: their union is between one cap and two
    assert (cap + small) / (4 * math.pi) < coverage.sky_fraction < (2 * cap + small) / (4 * math.pi) * 1.05
    assert coverage.footprints == 3

    raw = coverage.serialize("fits")
    with fits.open(io.BytesIO(raw)) as hdul:
        header = hdul[1].header
        assert header["ORDERING"] == "NUNIQ" and header["MOCORDER"] == 9 and header["COORDSYS"] == "C"
    again = MOC.from_fits(io.BytesIO(raw))
    assert again.sky_fraction == pytest.approx(coverage.sky_fraction)

    data = json.loads(coverage.serialize("json"))
    assert set(data) <= {str(o) for o in range(10)} and all(isinstance(v, list) for v in data.values())
    assert MOC.from_json({k: v for k, v in data.items()}).sky_fraction == pytest.approx(coverage.sky_fraction)

    coarse = MOC.from_fits(io.BytesIO(coverage.serialize("fits", order=4)))
    assert coarse.max_order == 4 and coarse.sky_fraction >= coverage.sky_fraction
    assert coverage.serialize("ascii").decode().startswith(tuple("0123456789"))

    cells = coverage.cells(order=6)
    assert cells and all(order <= 6 for order, _ in cells)


def test_empty_coverage() -> None:
    coverage = build_coverage("none", [], order=9)
    assert coverage.sky_fraction == 0.0 and coverage.cells() == []
    assert MOC.from_fits(io.BytesIO(coverage.serialize("fits"))).sky_fraction == 0.0


def test_coverage_formats() -> None:
    assert response_format(None) == "fits"
    assert response_format(None, "application/json") == "json"
    assert response_format("", "application/fits, application/json") == "fits"
    assert response_format("JSON") == "json"
    assert response_format("application/fits") == "fits"
    assert response_format("text/plain") == "ascii"
    with pytest.raises(UsageFault):
        response_format("votable")
