"""Units written in a DoE header, converted to the schema's units.

A header such as `T1 (K)`, `C1 (°C/h)` or `seed loading (wt%)` says in which
unit its column was measured; the values are converted to the schema's unit
(°C, °C/min, mass fraction, ...) rather than reported as out of range or, worse,
modelled as they stand. A unit that cannot be read (`(-)`, `(start)`) leaves the
values as they are. The table below holds the units a crystallization DoE is
written in, per quantity, as (factor, offset) to that quantity's base unit:
general unit libraries do not fit this job, since they treat °C/min as a product
with an offset unit and know neither "mass fraction" nor "mg/g solvent".
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

Scale = tuple[float, float]  # value in the base unit = factor × value + offset

_QUANTITIES: dict[str, dict[str, Scale]] = {
    "temperature": {
        **dict.fromkeys(("c", "celsius"), (1.0, 0.0)),
        **dict.fromkeys(("k", "kelvin"), (1.0, -273.15)),
        **dict.fromkeys(("f", "fahrenheit"), (5 / 9, -32 * 5 / 9)),
    },
    "rate": {
        **dict.fromkeys(("c/min", "k/min", "cmin-1", "kmin-1"), (1.0, 0.0)),
        **dict.fromkeys(("c/h", "k/h", "c/hr", "k/hr", "ch-1", "kh-1"), (1 / 60, 0.0)),
        **dict.fromkeys(("c/s", "k/s", "cs-1", "ks-1"), (60.0, 0.0)),
    },
    "ratio": {
        **dict.fromkeys(("massfraction", "fraction", "g/g", "kg/kg", "w/w"), (1.0, 0.0)),
        **dict.fromkeys(("%", "wt%", "%w/w", "w/w%", "wt.%", "mass%", "percent"), (0.01, 0.0)),
    },
    "concentration": {
        **dict.fromkeys(("mg/g", "g/kg"), (1.0, 0.0)),
        **dict.fromkeys(("g/g", "kg/kg"), (1000.0, 0.0)),
        "g/100g": (10.0, 0.0),
    },
    "length": {
        **dict.fromkeys(("um", "micron", "microns", "micrometre", "micrometer"), (1.0, 0.0)),
        "mm": (1000.0, 0.0),
        "nm": (0.001, 0.0),
    },
}


def normalise_unit(text: str) -> str:
    """Compare units by their symbols: `°C/min`, `degC/min` and `C / min` alike; `µm` as `um`; `solvent` dropped."""
    text = unicodedata.normalize("NFKC", text).lower().replace("μ", "u")
    text = re.sub(r"solvent|deg|°|º|\s", "", text)
    return text


def header_unit(header: str, wanted: str) -> str | None:
    """The unit a header gives a column whose schema unit is `wanted`: the first bracket naming a unit of the same
    quantity, or no unit (`-`), else the last bracket (`T1 (K) [start]` -> `K`, `T1 (start)` -> `start`); None
    without a bracket."""
    found = [t.strip() for t in re.findall(r"[\(\[\{]([^\(\)\[\]\{\}]*)[\)\]\}]", str(header)) if t.strip()]
    readable = [t for t in found if conversion(t, wanted) is not None or unchanged(t, wanted)]
    return readable[0] if readable else (found[-1] if found else None)


def unchanged(written: str, wanted: str) -> bool:
    """True when `written` gives no unit (`-`) or the very name of `wanted`: nothing to convert, nothing to say."""
    return normalise_unit(written) in {"-", normalise_unit(wanted)}


def _scale(unit: str, quantity: dict[str, Scale]) -> Scale | None:
    return quantity.get(normalise_unit(unit))


def conversion(written: str, wanted: str) -> Scale | None:
    """(factor, offset) taking values in `written` to `wanted` ((1, 0) for two names of one unit, such as K/min and
    °C/min); None unless both are units of one quantity in the table."""
    for quantity in _QUANTITIES.values():
        a, b = _scale(written, quantity), _scale(wanted, quantity)
        if a is not None and b is not None:
            return a[0] / b[0], (a[1] - b[1]) / b[0]
    return None


def convert(values: np.ndarray, scale: Scale, keep_zero: bool = False) -> np.ndarray:
    """The values in the wanted unit; with `keep_zero`, 0 stays 0 (an unused profile entry, Eq. 4, not 0 K)."""
    factor, offset = scale
    out = np.round(factor * values + offset, 10)  # 44 °C, not 44.00000000000006, after K and back
    return np.where(values == 0, 0.0, out) if keep_zero else out
