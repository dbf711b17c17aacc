"""Units through astropy: conversion factors (cached) and the photon energy-wavelength relation."""

from __future__ import annotations

from functools import lru_cache

from astropy import units as u


@lru_cache(maxsize=64)
def unit_factor(unit: str, target: str) -> float:
    """How many ``target`` one ``unit`` is (astropy units; raises ValueError if they do not convert)."""
    try:
        return float(u.Unit(unit).to(u.Unit(target)))
    except u.UnitConversionError as exc:
        raise ValueError(str(exc)) from None


# hc: the wavelength of a 1 TeV photon in m (astropy's spectral equivalency, computed once).
_HC_TEV_M = float((1 * u.TeV).to_value(u.m, equivalencies=u.spectral()))


def wavelength(energy_tev: float) -> float:
    """Wavelength in m of a photon of ``energy_tev`` TeV (lambda = hc / E)."""
    return _HC_TEV_M / energy_tev
