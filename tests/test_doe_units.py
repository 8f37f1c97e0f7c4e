"""Units written in the headers: converted to the schema's units, or named when they cannot be."""

import numpy as np
import pandas as pd
import pytest

from core.doe import load_doe
from core.doe.units import conversion, convert, header_unit
from tests.conftest import to_csv_bytes

TEMPERATURES = [f"T{i} (°C)" for i in range(1, 11)]
RATES = [f"{c}{i} (°C/min)" for c, n in (("C", 5), ("H", 4)) for i in range(1, n + 1)]


def loaded(frame: pd.DataFrame):
    return load_doe(to_csv_bytes(frame), filename="doe.csv")


def measured(result) -> pd.DataFrame:
    return result.data.frame.drop(columns=["run_id", "notes"], errors="ignore")


def warnings(result) -> list[str]:
    return [p.message for p in result.report.warnings]


def rewritten(frame: pd.DataFrame, columns: list[str], old: str, new: str, to_new) -> pd.DataFrame:
    """`frame` with `columns` measured in another unit: values through `to_new`, headers saying so."""
    out = frame.copy()
    for c in columns:
        out[c] = to_new(out[c])
    return out.rename(columns={c: c.replace(f"({old})", f"({new})") for c in columns})


@pytest.mark.parametrize(
    ("columns", "old", "new", "to_new"),
    [
        (TEMPERATURES, "°C", "K", lambda s: s.where(s.isna() | (s == 0), s + 273.15)),
        (TEMPERATURES, "°C", "°F", lambda s: s.where(s.isna() | (s == 0), s * 9 / 5 + 32)),
        (RATES, "°C/min", "°C/h", lambda s: s * 60),
        (RATES, "°C/min", "K/s", lambda s: s / 60),
        (["seed_loading (mass fraction)"], "mass fraction", "wt%", lambda s: s * 100),
        (["initial_concentration (mg/g solvent)"], "mg/g solvent", "g/g solvent", lambda s: s / 1000),
        (["D50 (µm)"], "µm", "mm", lambda s: s / 1000),
        (["DoA (%)", "crystallinity (%)"], "%", "fraction", lambda s: s / 100),
    ],
)
def test_columns_in_another_unit_load_as_in_the_schema_units(valid_frame, columns, old, new, to_new):
    result = loaded(rewritten(valid_frame, columns, old, new, to_new))
    reference = loaded(valid_frame)
    assert result.report.ok and result.report.n_usable == reference.report.n_usable
    pd.testing.assert_frame_equal(measured(result), measured(reference), check_exact=False, rtol=1e-9)
    assert [m for m in warnings(result) if f"values in {new} converted to" in m]


def test_unused_profile_entries_stay_zero_through_an_offset(valid_frame):
    frame = rewritten(valid_frame, TEMPERATURES, "°C", "K", lambda s: s.fillna(0).where(s.isna(), s + 273.15))
    result, reference = measured(loaded(frame)), measured(loaded(valid_frame))
    unused = reference[[c.split()[0] for c in TEMPERATURES]].fillna(0) == 0
    assert unused.to_numpy().any() and (result[unused.columns].fillna(0).to_numpy()[unused.to_numpy()] == 0).all()
    pd.testing.assert_frame_equal(result.fillna(0), reference.fillna(0), check_exact=False, rtol=1e-9)


def test_the_same_unit_under_another_name_is_silent(valid_frame):
    frame = valid_frame.rename(columns={c: c.replace("°C/min", "K/min") for c in RATES})
    frame = frame.rename(columns={"seed_loading (mass fraction)": "seed_loading (-)"})
    result = loaded(frame)
    assert not warnings(result)
    pd.testing.assert_frame_equal(measured(result), measured(loaded(valid_frame)))


def test_a_unit_that_cannot_be_converted_is_named_and_the_values_kept(valid_frame):
    frame = valid_frame.rename(columns={"D50 (µm)": "D50 (mesh)", "T1 (°C)": "T1 (start)"})
    result = loaded(frame)
    said = warnings(result)
    assert any("mesh cannot be converted to µm" in m for m in said)
    assert any("start cannot be converted to °C" in m for m in said)
    pd.testing.assert_frame_equal(measured(result), measured(loaded(valid_frame)))


def test_a_header_whose_values_fit_only_the_template_unit_is_taken_as_mislabelled(valid_frame):
    frame = valid_frame.rename(columns={"seed_loading (mass fraction)": "seed_loading (%)", "T1 (°C)": "T1 (K)"})
    result = loaded(frame)
    said = " ".join(warnings(result))
    assert "seed_loading: the header says %, but the values fit the expected range only as mass fraction" in said
    assert "T1: the header says K" in said
    pd.testing.assert_frame_equal(measured(result), measured(loaded(valid_frame)))


def test_header_unit_reads_the_bracket_that_names_a_unit():
    assert header_unit("T1 (K)", "°C") == "K"
    assert header_unit("T1 (K) [start]", "°C") == "K"
    assert header_unit("c0 (solvent basis) [g/kg]", "mg/g solvent") == "g/kg"
    assert header_unit("T1 (start)", "°C") == "start"  # named in a warning, values kept
    assert header_unit("D50", "µm") is None
    assert header_unit("T1 (K", "°C") is None
    assert header_unit("T1 ( )", "°C") is None


def test_conversion_between_quantities_is_refused():
    assert conversion("%", "µm") is None
    assert conversion("°C min-1", "°C/min") == conversion("K/min", "°C/min") == (1.0, 0.0)
    assert conversion("Kelvin", "°C") == conversion("K", "°C")
    assert conversion("w/w %", "mass fraction") == (0.01, 0.0)
    assert conversion("g/g", "mass fraction") == (1.0, 0.0)  # a ratio, not a concentration
    assert conversion("g/g", "mg/g solvent") == (1000.0, 0.0)
    factor, offset = conversion("°F", "°C")
    assert convert(np.array([212.0, 32.0, 0.0]), (factor, offset), keep_zero=True).tolist() == [100.0, 0.0, 0.0]
