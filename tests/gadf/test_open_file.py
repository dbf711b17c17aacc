"""DataStoreService.open_file: bundle files are opened as /files opens them, and must not have changed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapserver.datalink.files import DataRoots
from tapserver.datalink.model import DatasetRights, Product
from tapserver.datalink.rights import NoGrants
from tapserver.datalink.storage import DatasetProducts
from tapserver.errors import FatalFault, NotFoundFault
from tapserver.gadf.service import DataStoreService, StoreFile

pytestmark = pytest.mark.nodb

CONTENT = b"SIMPLE  =                    T" + b" " * 50


def _service(root: Path) -> DataStoreService:
    nothing: Any = None  # open_file reads no store
    return DataStoreService(nothing, DataRoots([root / "roots"]), NoGrants())


def _regular(root: Path) -> str:
    return str(root / "roots" / "events.fits")


def _link_inside(root: Path) -> str:
    os.symlink(root / "roots" / "events.fits", root / "roots" / "link.fits")
    return str(root / "roots" / "link.fits")


def _link_out(root: Path) -> str:
    (root / "elsewhere.fits").write_bytes(CONTENT)
    os.symlink(root / "elsewhere.fits", root / "roots" / "link.fits")
    return str(root / "roots" / "link.fits")


def _dir_link_out(root: Path) -> str:
    (root / "elsewhere.fits").write_bytes(CONTENT)
    os.symlink(root, root / "roots" / "dir-out")
    return str(root / "roots" / "dir-out" / "elsewhere.fits")


def _fifo(root: Path) -> str:
    os.mkfifo(root / "roots" / "pipe.fits")
    return str(root / "roots" / "pipe.fits")


def _outside(root: Path) -> str:
    (root / "elsewhere.fits").write_bytes(CONTENT)
    return str(root / "elsewhere.fits")


def _missing(root: Path) -> str:
    return str(root / "roots" / "gone.fits")


@pytest.mark.parametrize(("where", "size", "refusal"), [
    (_regular, len(CONTENT), None),
    (_regular, len(CONTENT) + 1, "changed while the bundle was sent"),
    (_link_inside, len(CONTENT), None),  # resolved first: the file it names is inside the roots
    (_link_out, len(CONTENT), "no longer available: outside the data roots"),
    (_fifo, 0, "no longer available"),  # refused at once, not waiting for a writer
    (_outside, len(CONTENT), "no longer available: outside the data roots"),
    (_missing, len(CONTENT), "no longer available"),
], ids=["regular", "resized", "link-inside", "link-out", "fifo", "outside", "missing"])
def test_open_file(tmp_path: Path, where: Callable[[Path], str], size: int, refusal: str | None) -> None:
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "events.fits").write_bytes(CONTENT)
    stored = StoreFile(name="data/fact/events.fits", real_path=where(tmp_path), size=size, mtime=0,
                       product_id="ivo://x?1#events")
    service = _service(tmp_path)
    if refusal is None:
        with service.open_file(stored) as stream:
            assert stream.read() == CONTENT
        return
    with pytest.raises(FatalFault) as raised:
        service.open_file(stored)
    assert refusal in str(raised.value) and "data/fact/events.fits" in str(raised.value)


class _Stores:
    """The products and observation rows of one dataset whose event file is ``path``."""

    did = "ivo://x?1"

    def __init__(self, path: str) -> None:
        self.path = path

    def with_datasets(self, dids: list[str]) -> tuple[dict[str, DatasetProducts], dict[str, dict[str, Any]]]:
        events = Product(f"{self.did}#events", self.did, "#this", "DL3 event list", "application/fits", None, None,
                         "events", self.path, None, None)
        return ({self.did: DatasetProducts(DatasetRights(self.did, "fact", "public", None), (events,))},
                {self.did: {"obs_id": "1", "obs_collection": "fact"}})


@pytest.mark.parametrize(("where", "refused"), [
    (_regular, False), (_link_inside, False), (_link_out, True), (_outside, True), (_missing, True),
    (_dir_link_out, True),
], ids=["regular", "link-inside", "link-out", "outside", "missing", "dir-link-out"])
def test_bundle_files_stay_inside_the_roots(tmp_path: Path, where: Callable[[Path], str], refused: bool) -> None:
    """Planning a bundle resolves each file as /files does: a symlink out of the roots, as the file or as one
    of its directories, is not bundled; opening the bundle's files goes through the same checks."""
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "events.fits").write_bytes(CONTENT)
    path = where(tmp_path)
    stores: Any = _Stores(path)
    service = DataStoreService(stores, DataRoots([tmp_path / "roots"]), NoGrants())
    if refused:
        with pytest.raises(NotFoundFault, match="not available"):
            service.build([_Stores.did], None, with_files=True)
        return
    store = service.build([_Stores.did], None, with_files=True)
    [stored] = store.files
    assert stored.real_path == os.path.realpath(tmp_path / "roots" / "events.fits")
    assert stored.size == len(CONTENT)
    with service.opener()(stored) as stream:
        assert stream.read() == CONTENT
