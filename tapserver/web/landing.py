"""The root page: what this service is and where its endpoints are (the full web UI is a later issue)."""

from __future__ import annotations

from html import escape

from tapserver import __version__
from tapserver.config import Settings

_ENDPOINTS = (
    ("tap", "TAP service base URL (give this to TOPCAT or pyvo)"),
    ("tap/sync", "synchronous queries"),
    ("tap/async", "asynchronous queries (UWS job list)"),
    ("tap/capabilities", "VOSI capabilities"),
    ("tap/availability", "VOSI availability"),
    ("tap/tables", "VOSI tables"),
    ("tap/examples", "example queries"),
)


def render_landing(settings: Settings) -> str:
    """An XHTML page linking to the TAP endpoints, with a pyvo snippet."""
    base = escape(settings.base_url)
    rows = "\n".join(
        f'      <li><a href="{base}/{path}">{base}/{path}</a>: {escape(what)}</li>' for path, what in _ENDPOINTS
    )
    title = escape(settings.title)
    return f"""<!DOCTYPE html>
<html lang="en">
  <head><meta charset="utf-8"/><title>{title}</title></head>
  <body>
    <h1>{title}</h1>
    <p>An IVOA ObsTAP / ProvTAP service (tapserver {escape(__version__)}) publishing gamma-ray DL3
    observations as ObsCore 1.1, their observing configuration and their provenance.</p>
    <h2>Endpoints</h2>
    <ul>
{rows}
    </ul>
    <h2>From Python</h2>
    <pre>import pyvo
tap = pyvo.dal.TAPService("{base}/tap")
print(tap.search("SELECT TOP 10 obs_id, target_name, t_min, t_max FROM ivoa.obscore").to_table())</pre>
  </body>
</html>
"""
