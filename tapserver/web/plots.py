"""The time-energy coverage of the archive as an inline SVG (no JavaScript needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from tapserver.web.layout import fmt_mjd, h, url
from tapserver.web.stats import Observation

#: Colours of the collections (Okabe-Ito, readable by colour-blind people).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Datasets drawn as links to their page up to this many (beyond, the tab order would be useless).
MAX_LINKED = 300


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _energy_label(tev: float) -> str:
    if tev >= 1:
        return f"{tev:.3g} TeV"
    return f"{tev * 1000:.3g} GeV"


def render_time_energy(observations: Sequence[Observation], collections: Sequence[str], *,
                       width: int = 720, height: int = 300) -> str:
    """Each dataset as a box: observing time (x) by energy range (y, log scale)."""
    drawn = [o for o in observations if o.e_min_tev and o.e_max_tev]
    if not drawn:
        return '<p class="empty">No dataset has both a time and an energy range yet.</p>'
    left, right, top, bottom = 70, 16, 12, 46
    pw, ph = width - left - right, height - top - bottom
    t0 = min(o.t_min for o in drawn)
    t1 = max(o.t_max for o in drawn)
    span = max(t1 - t0, 1 / 24)
    t0, t1 = t0 - span * 0.03, t1 + span * 0.03
    e_lo = math.floor(math.log10(min(o.e_min_tev for o in drawn if o.e_min_tev)))
    e_hi = math.ceil(math.log10(max(o.e_max_tev for o in drawn if o.e_max_tev)))
    if e_hi <= e_lo:
        e_hi = e_lo + 1

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * pw

    def y(e: float) -> float:
        return top + ph - (math.log10(e) - e_lo) / (e_hi - e_lo) * ph

    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(collections)}
    boxes = []
    linked = len(drawn) <= MAX_LINKED
    for o in drawn:
        assert o.e_min_tev is not None and o.e_max_tev is not None
        x1, x2 = x(o.t_min), x(o.t_max)
        if x2 - x1 < 2:
            x1, x2 = (x1 + x2) / 2 - 1, (x1 + x2) / 2 + 1
        y1, y2 = y(o.e_max_tev), y(o.e_min_tev)
        label = (f"{o.obs_id} ({o.collection}){' – ' + o.target if o.target else ''}: "
                 f"{fmt_mjd(o.t_min, with_time=True)} to {fmt_mjd(o.t_max, with_time=True)}, "
                 f"{_energy_label(o.e_min_tev)} – {_energy_label(o.e_max_tev)}")
        rect = (f'<rect x="{x1:.1f}" y="{y1:.1f}" width="{x2 - x1:.1f}" height="{max(1.0, y2 - y1):.1f}" '
                f'fill="{colour.get(o.collection, PALETTE[0])}"><title>{h(label)}</title></rect>')
        if linked:
            rect = f'<a href="{h(url("/dataset", ID=o.did))}" aria-label="{h(label)}">{rect}</a>'
        boxes.append(rect)
    xticks = []
    for t in nice_ticks(t0, t1, 5):
        if t0 <= t <= t1:
            label = fmt_mjd(t, with_time=(t1 - t0) < 3)
            xticks.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{top + ph}"/>'
                          f'<text x="{x(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{h(label)}</text>')
    yticks = []
    for k in range(e_lo, e_hi + 1):
        e = 10.0**k
        yticks.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(e):.1f}" y2="{y(e):.1f}"/>'
                      f'<text x="{left - 6}" y="{y(e) + 4:.1f}" text-anchor="end">{h(_energy_label(e))}</text>')
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{c}"></span>{h(name)}</span>'
        for name, c in colour.items()
    )
    desc = (f"{len(drawn)} datasets between {fmt_mjd(min(o.t_min for o in drawn))} and "
            f"{fmt_mjd(max(o.t_max for o in drawn))}, energies from "
            f"{_energy_label(min(o.e_min_tev for o in drawn if o.e_min_tev))} to "
            f"{_energy_label(max(o.e_max_tev for o in drawn if o.e_max_tev))}.")
    return (
        f'<figure class="plot"><svg class="time-energy" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="te-title te-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="te-title">Time and energy coverage</title><desc id="te-desc">{h(desc)}</desc>'
        f'<g class="axis">{"".join(xticks)}{"".join(yticks)}'
        f'<rect class="frame" x="{left}" y="{top}" width="{pw}" height="{ph}"/>'
        f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">observation time (UTC)</text>'
        f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle">energy</text></g>'
        f'<g class="boxes">{"".join(boxes)}</g></svg>'
        f'<figcaption>{legend}<span class="note">{h(desc)} Energies are converted from em_min/em_max '
        f"(wavelengths); hover a box for the dataset.</span></figcaption></figure>"
    )


def energy_range_text(e_min: float | None, e_max: float | None) -> str:
    """An energy range for tables, e.g. "350 GeV – 100 TeV"."""
    if e_min is None or e_max is None:
        return "–"
    return f"{_energy_label(e_min)} – {_energy_label(e_max)}"
