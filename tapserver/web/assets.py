"""The static files of the pages (``tapserver/web/static``): a fixed list read once, served with
content-hash URLs so that browsers may cache them for good."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    media_type: str
    digest: str

    @property
    def url(self) -> str:
        return f"{STATIC_PATH}/{self.name}?v={self.digest}"


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """Every file directly under ``static/`` (no sub-directories: nothing outside can be named)."""
    found: dict[str, Asset] = {}
    if not STATIC_DIR.is_dir():
        return found
    for path in sorted(STATIC_DIR.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        body = path.read_bytes()
        media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        found[path.name] = Asset(path.name, body, media_type, hashlib.sha256(body).hexdigest()[:12])
    return found


def asset_url(name: str) -> str:
    """The cache-busting URL of a static file (KeyError for an unknown name: a bug in a template)."""
    return assets()[name].url
