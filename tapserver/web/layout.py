"""The frame of every page: head, navigation, footer. Plain strings with ``html.escape``: every value that
comes from data or settings goes through :func:`h`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from tapserver import __version__
from tapserver.config import Settings
from tapserver.web.assets import asset_url

NAV = (("/", "home", "Archive"), ("/tables", "tables", "Tables"), ("/query", "query", "Query"))

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)


def h(value: object) -> str:
    """Escape text for HTML content and attribute values; None is the empty string."""
    return "" if value is None else escape(str(value), quote=True)


def url(path: str, **params: str) -> str:
    """A same-site URL with a query string."""
    return f"{path}?{urlencode(params)}" if params else path


def mjd_to_datetime(mjd: float) -> datetime:
    return MJD_EPOCH + timedelta(days=mjd)


def fmt_mjd(mjd: float | None, *, with_time: bool = False) -> str:
    """An MJD as an ISO date (UTC, ignoring the TT-UTC offset of about a minute)."""
    if mjd is None or not math.isfinite(mjd):
        return "–"
    when = mjd_to_datetime(mjd)
    return when.strftime("%Y-%m-%d %H:%M") if with_time else when.strftime("%Y-%m-%d")


def fmt_number(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, without exponent for ordinary magnitudes."""
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if -3 <= magnitude < 6:
        decimals = max(0, digits - 1 - magnitude)
        return f"{value:,.{decimals}f}"
    return f"{value:.{digits - 1}e}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:,.1f} h"


def fmt_bytes(size: int | None) -> str:
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, caption: str | None = None,
          cls: str = "data", numeric: Sequence[int] = ()) -> str:
    """An HTML table; ``rows`` hold ready-made HTML fragments (escape before), ``numeric`` right-aligns."""
    head = "".join(f'<th scope="col"{" class=num" if i in numeric else ""}>{h(t)}</th>'
                   for i, t in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{cell}</td>' for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{h(caption)}</caption>" if caption else ""
    return f'<div class="table-wrap"><table class="{h(cls)}">{cap}<thead><tr>{head}</tr></thead>' \
           f"<tbody>{body}</tbody></table></div>"


def copy_field(label: str, value: str, field_id: str) -> str:
    """A read-only value with a copy button (the button appears with JavaScript; without it the text is
    selectable)."""
    return (f'<div class="copy-field"><label for="{h(field_id)}">{h(label)}</label>'
            f'<span class="copy-row"><input id="{h(field_id)}" type="text" readonly value="{h(value)}" '
            f'spellcheck="false"><button type="button" class="copy" data-copy="{h(field_id)}" hidden>Copy</button>'
            "</span></div>")


def page(settings: Settings, *, title: str, active: str, body: str, scripts: Sequence[str] = (),
         description: str | None = None) -> str:
    """A complete HTML document. ``scripts`` are names of ES modules under static/."""
    site = settings.title
    full_title = site if title == site else f"{title} · {site}"
    nav = "".join(
        f'<li><a href="{href}"{" aria-current=page" if key == active else ""}>{h(label)}</a></li>'
        for href, key, label in NAV
    )
    modules = "".join(f'<script type="module" src="{h(asset_url(name))}"></script>' for name in scripts)
    meta_desc = f'<meta name="description" content="{h(description)}">' if description else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{h(full_title)}</title>
{meta_desc}
<link rel="stylesheet" href="{h(asset_url("app.css"))}">
<link rel="icon" href="{h(asset_url("favicon.svg"))}" type="image/svg+xml">
{modules}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<a class="brand" href="/">{h(site)}</a>
<nav aria-label="Main"><ul>{nav}</ul></nav>
</header>
<main id="main" tabindex="-1">
{body}
</main>
<footer class="site">
<p>tapserver {h(__version__)} · IVOA TAP 1.1, ObsCore 1.1, DataLink 1.1, ProvSAP ·
<a href="/tap/capabilities">capabilities</a> · <a href="/tap/availability">availability</a> ·
<a href="/tap/tables">tables (VOSI)</a> · <a href="/tap/examples">examples</a> ·
<a href="/api/docs">HTTP API</a></p>
</footer>
</body>
</html>
"""
