"""A selection of datasets as a GADF data store: who may have it, which HDUs and files it holds, and where
each file goes in a bundle (``data/<collection>/<file name>``, each file once however many observations
share it) or which URL of this service serves it.

No HTTP in here; files are opened through :class:`tapserver.datalink.files.FileService` (rights, data roots).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from tapserver.datalink.files import DataRoots, RealPaths
from tapserver.datalink.model import Product, file_url
from tapserver.datalink.rights import AccessPolicy, is_restricted, require, utcnow
from tapserver.datalink.storage import DatasetProducts
from tapserver.errors import FatalFault, NotFoundFault, UsageFault
from tapserver.gadf.index import HduRow, hdu_index, obs_index
from tapserver.gadf.kinds import product_kind
from tapserver.gadf.storage import ObservationStore

#: Most datasets in one selection.
MAX_SELECTION = 5000
OBS_INDEX_NAME = "obs-index.fits.gz"
HDU_INDEX_NAME = "hdu-index.fits.gz"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StoreFile:
    """One file of a bundle: its place in the bundle, and a product through which it is opened."""

    name: str
    real_path: str
    size: int
    mtime: int
    product_id: str


@dataclass(frozen=True)
class DataStore:
    """The GADF data store of a selection."""

    dids: tuple[str, ...]
    observations: tuple[dict[str, Any], ...]
    obs_ids: tuple[int, ...]
    hdus: tuple[tuple[int, Product, str, str], ...]  # obs id, product, hdu type, hdu class
    files: tuple[StoreFile, ...]
    file_of: dict[str, StoreFile]  # stored path (as in datalink.product) -> file
    #: Datasets of the selection whose files are restricted (and which the caller may read: a bundle).
    restricted: tuple[str, ...] = ()

    def obs_index(self) -> bytes:
        return obs_index(self.observations, self.obs_ids)

    def hdu_index(self, base_url: str | None) -> bytes:
        """The hdu-index: file locations relative to the bundle, or (``base_url``) this service's URLs."""
        rows = []
        for obs_id, product, hdu_type, hdu_class in self.hdus:
            hdu_name = product.hdu_name or ("EVENTS" if hdu_type == "events" else "")
            if base_url is not None:
                rows.append(HduRow(obs_id, hdu_type, hdu_class, "", file_url(base_url, product.product_id), hdu_name))
                continue
            stored = self.file_of[product.file_path]
            file_dir, _, file_name = stored.name.rpartition("/")
            rows.append(HduRow(obs_id, hdu_type, hdu_class, file_dir, file_name, hdu_name))
        return hdu_index(rows)


def _obs_id(did: str, row: dict[str, Any]) -> int:
    text = str(row.get("obs_id") or "").strip()
    try:
        return int(text)
    except ValueError:
        raise UsageFault(f"{did}: its obs_id {text!r} is not an integer, which GADF index tables need") from None


def _slug(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "data"


class DataStoreService:
    """Builds data stores for selections."""

    def __init__(self, observations: ObservationStore, roots: DataRoots, policy: AccessPolicy, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.observations = observations
        self.roots = roots
        self.policy = policy
        self.clock = clock

    def build(self, dids: Sequence[str], caller: str | None, *, with_files: bool) -> DataStore:
        """The data store of ``dids`` (order kept, duplicates dropped). ``with_files``: the caller will
        download the files (bundle), so every dataset must be readable by the caller and every file present."""
        unique = list(dict.fromkeys(d for d in dids if d.strip()))
        if not unique:
            raise UsageFault("the selection is empty: give ID values or a QUERY that selects obs_publisher_did")
        if len(unique) > MAX_SELECTION:
            raise UsageFault(f"the selection holds {len(unique)} datasets; at most {MAX_SELECTION} at once")
        found, rows = self.observations.with_datasets(unique)
        missing = [d for d in unique if d not in found]
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise NotFoundFault(f"not datasets of this service: {', '.join(missing[:3])}{more}")
        restricted = self._check_rights(found.values(), caller) if with_files else []
        obs_ids: dict[int, str] = {}
        hdus: list[tuple[int, Product, str, str]] = []
        for did in unique:
            obs_id = _obs_id(did, rows[did])
            if obs_id in obs_ids:
                raise UsageFault(f"observation id {obs_id} is in the selection twice ({obs_ids[obs_id]} and {did}): "
                                 "a GADF data store needs unique OBS_IDs; select one collection or processing")
            obs_ids[obs_id] = did
            hdus.extend(self._hdus(did, obs_id, found[did]))
        file_of = self._layout(hdus, {did: str(rows[did].get("obs_collection") or "") for did in unique}) \
            if with_files else {}
        files = tuple(dict.fromkeys(file_of.values()))
        return DataStore(dids=tuple(unique), observations=tuple(rows[d] for d in unique),
                         obs_ids=tuple(obs_ids), hdus=tuple(hdus), files=files, file_of=file_of,
                         restricted=tuple(restricted))

    def opener(self) -> Callable[[StoreFile], BinaryIO]:
        """:meth:`open_file` for the files of one bundle, each directory resolved once for all of them (the
        opened descriptor is still checked against the roots, file by file)."""
        paths = self.roots.resolver()
        return lambda stored: self.open_file(stored, paths)

    def open_file(self, stored: StoreFile, paths: RealPaths | None = None) -> BinaryIO:
        """Open a file of a bundle (the rights were decided for the whole selection by :meth:`build`) as
        /files opens it: inside the data roots, no symlink at the end, a regular file; it must still have
        the size announced in Content-Length (FatalFault otherwise). ``paths``: a resolver shared by the
        files of one bundle (:meth:`opener`)."""
        real = (paths or self.roots).resolve(stored.real_path)
        try:
            if real is None:
                raise PermissionError("outside the data roots")
            fd = self.roots.open_descriptor(real)
        except OSError as exc:
            raise FatalFault(f"{stored.name} is no longer available: {exc}") from None
        stream = os.fdopen(fd, "rb")
        if os.fstat(fd).st_size != stored.size:
            stream.close()
            raise FatalFault(f"{stored.name} changed while the bundle was sent; download it again")
        return stream

    def _check_rights(self, entries: Iterable[DatasetProducts], caller: str | None) -> list[str]:
        """The restricted datasets among ``entries``, once the caller may read every one of them."""
        now = self.clock()
        restricted = []
        for entry in entries:
            require(self.policy, caller, entry.rights, now, f"{entry.rights.did} is not public yet", "download it")
            if is_restricted(entry.rights, now):
                restricted.append(entry.rights.did)
        return restricted

    @staticmethod
    def _hdus(did: str, obs_id: int, entry: DatasetProducts) -> list[tuple[int, Product, str, str]]:
        out, seen = [], set()
        for product in entry.products:
            kind = product_kind(product)
            if kind is None or kind.hdu_type in seen:
                continue
            seen.add(kind.hdu_type)
            out.append((obs_id, product, kind.hdu_type, kind.hdu_class))
        if "events" not in seen:
            raise NotFoundFault(f"no event file is recorded for {did}")
        return out

    def _layout(self, hdus: list[tuple[int, Product, str, str]], collections: dict[str, str]) -> dict[str, StoreFile]:
        """Each stored path's file in the bundle; paths that resolve to the same file share one entry."""
        files: dict[str, StoreFile] = {}  # real path -> file
        by_path: dict[str, StoreFile] = {}
        taken: set[str] = {OBS_INDEX_NAME, HDU_INDEX_NAME}
        paths = self.roots.resolver()
        for _, product, _, _ in hdus:
            if product.file_path in by_path:
                continue
            found = paths.status(product.file_path) if self.roots else None
            if found is None:
                raise NotFoundFault(f"the file of product {product.product_id} is not available")
            real, st = found
            if real in files:
                by_path[product.file_path] = files[real]
                continue
            base = _slug(os.path.basename(real))
            name = f"data/{_slug(collections.get(product.did, ''))}/{base}"
            stem, dot, suffix = base.partition(".")
            counter = 2
            while name in taken:
                name = f"data/{_slug(collections.get(product.did, ''))}/{stem}-{counter}{dot}{suffix}"
                counter += 1
            taken.add(name)
            files[real] = by_path[product.file_path] = StoreFile(name, real, st.st_size, int(st.st_mtime),
                                                                 product.product_id)
        return by_path
