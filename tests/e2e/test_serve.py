"""A real `tapserver serve` process: availability reflects the database, the root page links to TAP."""

from __future__ import annotations

import httpx
from lxml import etree

from tapserver.config import Settings
from tests.e2e.server import running_server

VOSI_AV = "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}"


def test_availability_and_landing(migrated_settings: Settings) -> None:
    url = migrated_settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    with running_server(url, fresh=True) as base:  # the console script's start, from scratch
        response = httpx.get(f"{base}/tap/availability")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        assert response.headers["server"].startswith("tapserver/")
        doc = etree.fromstring(response.content)
        assert doc.find(f"{VOSI_AV}available").text == "true"
        assert doc.find(f"{VOSI_AV}upSince").text.endswith("Z")

        landing = httpx.get(f"{base}/", timeout=30)  # the first page view fills the archive caches
        assert landing.status_code == 200 and f"{base}/tap/sync" in landing.text

        missing = httpx.get(f"{base}/tap/no-such-endpoint")
        assert missing.status_code == 404
        assert 'name="QUERY_STATUS" value="ERROR"' in missing.text
