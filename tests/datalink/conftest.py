"""A database of its own with datasets and products inserted directly, files from the shared DL3 data
(read-only) and a scratch data root holding the traps (symlinks out, files outside the roots)."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from astropy.io import fits
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings
from tests.conftest import settings_for
from tests.dbutil import migrated_database

DL3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "dl3"
FACT = DL3 / "joint-crab-fact" / "20131103_103_dl3.fits"
FACT_2 = DL3 / "joint-crab-fact" / "20131103_104_dl3.fits"
HESS = DL3 / "gammapy-data-hess-dl3-dr1" / "data" / "hess_dl3_dr1_obs_id_020136.fits.gz"
HESS_2 = DL3 / "gammapy-data-hess-dl3-dr1" / "data" / "hess_dl3_dr1_obs_id_020137.fits.gz"
BASE_URL = "http://testserver"
AUTH = "ivo://test.example"


def did(collection: str, obs_id: str) -> str:
    return f"{AUTH}/{collection}?{obs_id}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decompressed(path: Path) -> bytes:
    """The FITS bytes of a plain or gzip file (tests only: small files)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def hdu_bytes(path: Path, index: int) -> bytes:
    """The bytes of HDU ``index`` (header and padded data), located by astropy."""
    with fits.open(path) as hdul:
        info = hdul.fileinfo(index)
        assert info is not None
        start, data_start, span = info["hdrLoc"], info["datLoc"], info["datSpan"]
    return decompressed(path)[start:data_start + span]


@dataclass
class Product:
    product_id: str
    dataset: str
    semantics: str
    path: str
    content_type: str = "application/fits"
    content_length: int | None = None
    hdu_index: int | None = None
    hdu_name: str | None = None
    description: str | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None
    sort_order: int = 0


@dataclass
class World:
    """What the tests share: settings, the scratch root, and the products by name."""

    settings: Settings
    root: Path
    outside: Path
    products: dict[str, Product] = field(default_factory=dict)

    def url(self, name: str) -> str:
        from tapserver.datalink.model import file_url

        return file_url(BASE_URL, self.products[name].product_id)


DATASETS = {
    # name: (did, data_rights, release date relative to now in days or None)
    "fact": (did("fact", "103"), "public", None),
    "hess": (did("hess", "020136"), "public", None),
    "embargoed": (did("secret", "1"), "proprietary", 365),
    "released": (did("secret", "2"), "proprietary", -30),
    "no-date": (did("secret", "3"), "proprietary", None),
    "secure": (did("secret", "4"), "secure", None),
    "empty": (did("fact", "no-products"), None, None),
    "traps": (did("traps", "1"), "public", None),
}


#: The response-type terms of the High-Energy ObsCore note, as the ingester records them.
RESPONSE_TYPES = {kind: f"http://www.ivoa.net/rdf/response-type#{term}"
                  for kind, term in (("aeff", "aeff"), ("edisp", "edisp"), ("psf", "psf"), ("bkg", "bkgrate"))}


def _products(root: Path, outside: Path) -> list[Product]:
    fact, hess = DATASETS["fact"][0], DATASETS["hess"][0]
    hess_sizes = {i: len(hdu_bytes(HESS, i)) for i in range(7)}
    fact_gti = len(hdu_bytes(FACT, 2))
    products = [
        Product(f"{fact}#events", fact, "#this", str(FACT), content_length=FACT.stat().st_size,
                description="DL3 event list", content_qualifier="event", local_semantics="events"),
        Product(f"{fact}#gti", fact, "#auxiliary", str(FACT), content_length=fact_gti, hdu_index=2,
                hdu_name="GTI", description="Good time intervals", local_semantics="gti", sort_order=1),
        Product(f"{hess}#events", hess, "#this", str(HESS), content_length=len(decompressed(HESS)),
                description="DL3 event list", content_qualifier="#event", local_semantics="events"),
        Product(f"{hess}#primary", hess, "#auxiliary", str(HESS), content_length=hess_sizes[0], hdu_index=0,
                hdu_name="PRIMARY", sort_order=1),
        Product(f"{hess}#gti", hess, "#auxiliary", str(HESS), content_length=hess_sizes[2], hdu_index=2,
                hdu_name="GTI", sort_order=2),
    ]
    for order, (index, name) in enumerate(((3, "AEFF"), (4, "EDISP"), (5, "PSF"), (6, "BKG")), start=3):
        products.append(Product(f"{hess}#{name.lower()}", hess, "#calibration", str(HESS),
                                # PSF and BKG by name only, as the ingester records HDUs known from an
                                # hdu-index after the last one it read (ingest.extract._rest_from_index)
                                content_length=hess_sizes[index], hdu_index=index if index < 5 else None,
                                hdu_name=name,
                                description=f"IRF {name}", local_semantics=name.lower(), sort_order=order,
                                content_qualifier=RESPONSE_TYPES[name.lower()]))
    for name in ("embargoed", "released", "no-date", "secure"):
        dataset = DATASETS[name][0]
        products.append(Product(f"{dataset}#events", dataset, "#this", str(FACT_2),
                                content_length=FACT_2.stat().st_size))
    traps = DATASETS["traps"][0]
    secret = outside / "secret.fits"
    inner = root / "inner.fits"
    products += [
        Product(f"{traps}#dotdot", traps, "#auxiliary", str(root / ".." / outside.name / "secret.fits")),
        Product(f"{traps}#absolute", traps, "#auxiliary", str(secret)),
        Product(f"{traps}#etc", traps, "#auxiliary", "/etc/passwd"),
        Product(f"{traps}#symlink-out", traps, "#auxiliary", str(root / "link-out.fits")),
        Product(f"{traps}#dir-link-out", traps, "#auxiliary", str(root / "dir-out" / "secret.fits")),
        Product(f"{traps}#relative", traps, "#auxiliary", "inner.fits"),
        Product(f"{traps}#directory", traps, "#auxiliary", str(root)),
        Product(f"{traps}#missing", traps, "#auxiliary", str(root / "missing.fits")),
        Product(f"{traps}#symlink-in", traps, "#auxiliary", str(root / "link-in.fits")),
        Product(f"{traps}#inner", traps, "#this", str(inner), content_length=inner.stat().st_size),
        Product(f"{traps}#wrong-hdu", traps, "#auxiliary", str(FACT), hdu_index=1, hdu_name="GTI"),
        Product(f"{traps}#no-such-hdu", traps, "#auxiliary", str(FACT), hdu_index=9, hdu_name="AEFF"),
        Product(f"{traps}#unpadded", traps, "#auxiliary", str(root / "unpadded.fits"), hdu_index=1,
                hdu_name="TABLE"),
        Product(f"{traps}#truncated", traps, "#auxiliary", str(root / "truncated.fits"), hdu_index=1,
                hdu_name="TABLE"),
        Product(f"{traps}#by-name", traps, "#auxiliary", str(HESS), hdu_name="PSF"),
    ]
    return products


def _make_files(root: Path, outside: Path) -> None:
    (outside / "secret.fits").write_bytes(FACT_2.read_bytes())
    (root / "inner.fits").write_bytes(FACT.read_bytes())
    os.symlink(outside / "secret.fits", root / "link-out.fits")
    os.symlink(outside, root / "dir-out")
    os.symlink(root / "inner.fits", root / "link-in.fits")
    table = fits.BinTableHDU.from_columns([fits.Column(name="X", format="D", array=[1.0, 2.0, 3.0])],
                                          name="TABLE")
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(root / "full.fits")
    full = (root / "full.fits").read_bytes()
    data_end = len(full) - 2880 + 24  # 3 rows of 8 bytes in the last block
    (root / "unpadded.fits").write_bytes(full[:data_end])
    (root / "truncated.fits").write_bytes(full[:data_end - 8])


def _insert(settings: Settings, products: list[Product]) -> None:
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for number, (name, (dataset, rights, days)) in enumerate(DATASETS.items()):
            collection, obs_id = dataset.removeprefix(AUTH + "/").split("?")
            release = None if days is None else now + timedelta(days=days)
            conn.execute(text(
                "INSERT INTO ivoa.obscore (calib_level, obs_collection, obs_id, obs_publisher_did, data_rights, "
                "obs_release_date, access_format, dataproduct_type, obs_title) "
                "VALUES (2, :c, :o, :d, :r, :t, 'application/x-votable+xml;content=datalink', 'event', :n)"),
                {"c": collection, "o": obs_id, "d": dataset, "r": rights, "t": release, "n": f"{name} {number}"})
        for p in products:
            conn.execute(text(
                "INSERT INTO datalink.product (product_id, obs_publisher_did, semantics, description, content_type,"
                " content_length, content_qualifier, local_semantics, file_path, hdu_name, hdu_index, sort_order)"
                " VALUES (:product_id, :dataset, :semantics, :description, :content_type, :content_length,"
                " :content_qualifier, :local_semantics, :path, :hdu_name, :hdu_index, :sort_order)"),
                vars(p))
    engine.dispose()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("datalink")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    _make_files(root, outside)
    with migrated_database("tapserver_datalink") as url:
        settings = settings_for(url.render_as_string(hide_password=False), base_url=BASE_URL,
                                data_roots=[DL3, root], data_dir=base / "data")
        products = _products(root, outside)
        _insert(settings, products)
        world = World(settings=settings, root=root, outside=outside)
        for p in products:
            world.products[p.product_id.rsplit("/", 1)[1].replace("?", ":")] = p
        yield world


@pytest.fixture(scope="session")
def app(world: World) -> FastAPI:
    return create_app(world.settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client
