"""AppTest of the Validate page: virtual-lab measurement, Table-3 comparison, append and retrain."""

import pandas as pd

from tests.apptest import app_on


def test_virtual_lab_measurement_then_append_and_retrain():
    at = app_on("pages/validate.py")
    n_before = len(at.session_state["doe"])
    at.button(key="validate_run_lab").click()
    at.run()
    assert not at.exception, at.exception
    measured = {c: at.number_input(key=f"measured_{c}").value for c in ("D50", "DoA", "crystallinity")}
    assert all(v is not None and v >= 0 for v in measured.values())  # deep cycles can break every agglomerate
    table = next(d.value for d in at.dataframe if "predicted ± 1σ" in d.value.columns)
    assert table["measured"].tolist() == list(measured.values())
    at.button(key="validate_append").click()
    at.run()
    assert not at.exception, at.exception
    data = at.session_state["doe"]
    assert len(data) == n_before + 1
    assert data.cqa("D50").iloc[-1] == measured["D50"]
    assert (
        at.session_state["fit"].fits["D50"].dataset.n_train + at.session_state["fit"].fits["D50"].dataset.n_test
        == n_before + 1
    )
    at.button(key="validate_append").click()  # the same run a second time
    at.run()
    assert len(at.session_state["doe"]) == n_before + 1
    assert any("appended before" in e.value for e in at.error)


def test_basket_profiles_are_offered():
    at = app_on("pages/validate.py", with_models=True)
    points = pd.DataFrame(
        [
            {
                "id": "4C-x",
                "profile_type": "4 cycles",
                "initial_concentration": 40.0,
                "seed_loading": 0.1,
                **{f"T{i}": t for i, t in enumerate((65, 40, 55, 30, 45, 22, 35, 15, 25, 5), 1)},
                **{f"C{i}": c for i, c in enumerate((0.3, 0.2, 0.15, 0.1, 0.05), 1)},
                **{f"H{i}": h for i, h in enumerate((1.0, 0.8, 0.8, 0.5), 1)},
            }
        ]
    )
    at.session_state["basket"] = points
    at.run()
    assert at.selectbox(key="validate_choice").options == ["4C-x", "a profile I enter here"]
    assert not at.exception
