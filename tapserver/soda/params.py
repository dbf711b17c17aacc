"""SODA 1.0 cutout parameters for event lists: ``POS``, ``CIRCLE``, ``POLYGON``, ``TIME``, ``BAND`` (and the
``ENERGY`` extension), parsed into one :class:`Cut`.

Conventions (documented in docs/architecture.md, "Event-list cutouts"):

* shapes are in DALI form, degrees, ICRS: ``POS=CIRCLE ra dec r``, ``POS=RANGE ra1 ra2 dec1 dec2``,
  ``POS=POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ...``, ``CIRCLE=ra dec r``, ``POLYGON=ra1 dec1 ...``;
  a RANGE with ra1 > ra2 wraps through RA 0; ``-Inf``/``+Inf`` are accepted as open bounds;
* ``TIME=t1 t2``: an MJD interval in TT, the archive's time scale (the one of ``ivoa.obscore.t_min``);
* ``BAND=l1 l2``: a wavelength interval in metres, as SODA defines it; an event of energy E is inside when
  its wavelength hc/E is (CODATA h and c through astropy's spectral equivalency: hc = 1.2398419843e-18
  TeV m, the value the HEA ObsCore note fixes), i.e. E in [hc/l2, hc/l1];
* ``ENERGY=e1 e2`` (extension): the energy interval in TeV directly.

Several values of the same parameter, or two spatial parameters, are refused (one cut per request); all
intervals are closed, and an inverted or empty interval is a UsageFault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tapserver.dali.params import Params
from tapserver.errors import UsageFault

SPATIAL = ("POS", "CIRCLE", "POLYGON")
ALL = (*SPATIAL, "TIME", "BAND", "ENERGY")
MAX_POLYGON_VERTICES = 1000


@dataclass(frozen=True)
class Circle:
    ra: float
    dec: float
    radius: float


@dataclass(frozen=True)
class Range:
    """RA and Dec ranges in degrees; ``ra_min > ra_max`` wraps through 0."""

    ra_min: float
    ra_max: float
    dec_min: float
    dec_max: float


@dataclass(frozen=True)
class Polygon:
    vertices: tuple[tuple[float, float], ...]


Shape = Circle | Range | Polygon


@dataclass(frozen=True)
class Cut:
    """What to keep: a sky region, a time interval (MJD TT) and an energy interval (TeV); None = all."""

    shape: Shape | None = None
    time: tuple[float, float] | None = None
    energy: tuple[float, float] | None = None
    given: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self.shape is None and self.time is None and self.energy is None

    def describe(self) -> str:
        """The cut as one line for a HISTORY card (the parameters as given)."""
        return "; ".join(self.given) or "no cut"


def wavelength_to_tev(metres: float) -> float:
    """E = hc / lambda in TeV (astropy's spectral equivalency: CODATA h and c)."""
    from astropy import units as u  # here: astropy costs a process that parses no wavelength 0.4 s

    return float(u.m.to(u.TeV, metres, equivalencies=u.spectral()))


def _numbers(name: str, value: str) -> list[float]:
    try:
        numbers = [float(word) for word in value.split()]
    except ValueError:
        raise UsageFault(f"{name} must hold numbers separated by spaces, not {value!r}") from None
    if any(math.isnan(v) for v in numbers):
        raise UsageFault(f"{name} must not hold NaN")
    return numbers


def _interval(name: str, value: str) -> tuple[float, float]:
    numbers = _numbers(name, value)
    if len(numbers) != 2:
        raise UsageFault(f"{name} must be an interval of two numbers (DALI interval), not {value!r}")
    lo, hi = numbers
    if lo > hi:
        raise UsageFault(f"{name} interval is inverted: {lo:g} > {hi:g}")
    return lo, hi


def _check_point(name: str, ra: float, dec: float) -> None:
    if not (math.isfinite(ra) and math.isfinite(dec)) or not -90 <= dec <= 90:
        raise UsageFault(f"{name}: ({ra:g}, {dec:g}) is not a position on the sky (deg)")


def _circle(name: str, numbers: list[float]) -> Circle:
    if len(numbers) != 3:
        raise UsageFault(f"{name}: a circle is 'ra dec radius' in degrees (3 numbers), got {len(numbers)}")
    ra, dec, radius = numbers
    _check_point(name, ra, dec)
    if not 0 < radius <= 180:
        raise UsageFault(f"{name}: the radius must be in (0, 180] degrees, not {radius:g}")
    return Circle(ra % 360.0, dec, radius)


def _range(name: str, numbers: list[float]) -> Range:
    if len(numbers) != 4:
        raise UsageFault(f"{name}: a range is 'ra1 ra2 dec1 dec2' in degrees (4 numbers), got {len(numbers)}")
    ra1, ra2, dec1, dec2 = numbers
    dec1, dec2 = max(dec1, -90.0), min(dec2, 90.0)
    if dec1 > dec2 or dec1 > 90 or dec2 < -90:
        raise UsageFault(f"{name}: the Dec range {numbers[2]:g} {numbers[3]:g} is empty or inverted")
    if not math.isfinite(ra1) or not math.isfinite(ra2) or ra2 - ra1 >= 360:
        return Range(0.0, 360.0, dec1, dec2)
    if ra1 == ra2:
        raise UsageFault(f"{name}: the RA range {ra1:g} {ra2:g} is empty")
    return Range(ra1 % 360.0, ra2 % 360.0, dec1, dec2)


def _polygon(name: str, numbers: list[float]) -> Polygon:
    if len(numbers) % 2 or not 3 <= len(numbers) // 2 <= MAX_POLYGON_VERTICES:
        raise UsageFault(f"{name}: a polygon is 3 to {MAX_POLYGON_VERTICES} 'ra dec' pairs in degrees")
    vertices = tuple((numbers[i] % 360.0, numbers[i + 1]) for i in range(0, len(numbers), 2))
    for ra, dec in vertices:
        _check_point(name, ra, dec)
    return Polygon(vertices)


def parse_shape(name: str, value: str) -> Shape:
    """One spatial parameter: ``POS`` (with its shape keyword), ``CIRCLE`` or ``POLYGON``."""
    if name == "POS":
        words = value.split(None, 1)
        if not words:
            raise UsageFault("POS is empty: give CIRCLE, RANGE or POLYGON and its numbers")
        kind, rest = words[0].upper(), words[1] if len(words) > 1 else ""
        numbers = _numbers("POS", rest)
        if kind == "CIRCLE":
            return _circle("POS", numbers)
        if kind == "RANGE":
            return _range("POS", numbers)
        if kind == "POLYGON":
            return _polygon("POS", numbers)
        raise UsageFault(f"POS shape {words[0]!r} is not supported: use CIRCLE, RANGE or POLYGON")
    if name == "CIRCLE":
        return _circle(name, _numbers(name, value))
    return _polygon(name, _numbers(name, value))


def parse_cut(params: Params) -> Cut:
    """The cut of a request (UsageFault for a bad value, a repeated parameter or two spatial parameters)."""
    given: list[str] = []
    shape: Shape | None = None
    for name in SPATIAL:
        value = params.single(name)
        if value is None:
            continue
        if shape is not None:
            raise UsageFault("give one spatial cut only (POS, CIRCLE or POLYGON)")
        shape = parse_shape(name, value)
        given.append(f"{name}={value.strip()}")
    time = energy = None
    if (value := params.single("TIME")) is not None:
        time = _interval("TIME", value)
        if not all(math.isfinite(t) for t in time) and time[0] == time[1]:
            raise UsageFault("TIME must not be an infinite point")
        given.append(f"TIME={value.strip()}")
    band, direct = params.single("BAND"), params.single("ENERGY")
    if band is not None and direct is not None:
        raise UsageFault("give BAND (wavelength, m) or ENERGY (TeV), not both")
    if band is not None:
        lo, hi = _interval("BAND", band)
        if hi <= 0:
            raise UsageFault("BAND: wavelengths must be positive (metres)")
        energy = (wavelength_to_tev(hi), wavelength_to_tev(lo) if lo > 0 else math.inf)
        given.append(f"BAND={band.strip()}")
    if direct is not None:
        energy = _interval("ENERGY", direct)
        if energy[1] <= 0:
            raise UsageFault("ENERGY: energies must be positive (TeV)")
        given.append(f"ENERGY={direct.strip()}")
    return Cut(shape=shape, time=time, energy=energy, given=tuple(given))
