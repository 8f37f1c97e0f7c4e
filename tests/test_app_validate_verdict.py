"""AppTest of the fit-for-purpose check on the Validate page."""

from tests.apptest import app_on


def test_replicates_far_from_the_prediction_ask_for_more_experiments_and_link_the_planner():
    at = app_on("pages/validate.py")
    before = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert set(before["status"]) == {"not measured"}
    mean, std = before.loc[0, "predicted_mean"], before.loc[0, "predicted_std"]
    far = mean + 10 * std + 10
    at.text_input(key="replicates_D50").set_value(f"{far - 0.5}, {far}, {far + 0.5}")
    at.run()
    assert not at.exception, at.exception
    verdict = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert verdict.loc[0, "status"] == "disagrees with the measurement" and verdict.loc[0, "n"] == 3
    assert any("More experiments are needed" in w.value for w in at.warning)


def test_a_bad_replicate_entry_is_a_message():
    at = app_on("pages/validate.py")
    at.text_input(key="replicates_DoA").set_value("12, twelve")
    at.run()
    assert not at.exception
    assert any('"twelve" is not a number' in e.value for e in at.error)
