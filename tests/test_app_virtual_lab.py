"""AppTest of the Virtual lab page: it simulates the chosen profile and shows its CQAs."""

from tests.apptest import app_on


def test_default_profile_runs_and_shows_cqas():
    at = app_on("pages/virtual_lab.py", with_models=False)
    labels = {m.label for m in at.metric}
    assert {"D50", "DoA", "crystallinity", "batch time"} <= labels
    d50 = next(m for m in at.metric if m.label == "D50").value
    assert d50.endswith("µm") and float(d50.split()[0]) > 0


def test_noise_changes_with_the_seed():
    at = app_on("pages/virtual_lab.py", with_models=False)
    at.selectbox(key="lab_type").set_value(2)
    at.toggle(key="lab_noise").set_value(True)
    at.run()
    first = next(m for m in at.metric if m.label == "D50").value
    at.number_input(key="lab_random_seed").set_value(7)
    at.run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "D50").value != first
