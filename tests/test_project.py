import io
import pickle
import zipfile

import pandas as pd
import pytest

from core.doe import Schema, load_doe
from core.project import Project, ProjectError, open_project, save_project
from tests.conftest import doe_frame, to_csv_bytes


def project() -> Project:
    schema = Schema.from_json({"cqas": [{"name": "yield", "unit": "%", "limits": [0, 100]}], "bounds": {"T": [0, 80]}})
    frame = doe_frame(2)
    frame["yield"] = range(len(frame))
    data = load_doe(to_csv_bytes(frame), filename="d.csv", schema=schema).data
    return Project(
        data,
        "trial",
        settings={"models": {"search": "fast", "seed": 7}},
        results={"metrics": {"D50": {"cv_mse": 1.5}}},
        tables={"basket": pd.DataFrame({"id": ["a", "b"], "n_cycles": [4, 3]})},
        files={"augment.json": '{"D50": {}}', "synthetic_D50.csv": "T1,D50\n50.123456789012345,31.5\n"},
    )


def test_round_trip_keeps_everything():
    original = project()
    opened = open_project(save_project(original))
    assert opened.name == "trial"
    assert opened.settings == original.settings and opened.results == original.results
    pd.testing.assert_frame_equal(opened.tables["basket"], original.tables["basket"])
    assert opened.files == original.files
    assert opened.data.schema.variables == original.data.schema.variables
    pd.testing.assert_frame_equal(
        opened.data.inputs.reset_index(drop=True), original.data.inputs.reset_index(drop=True)
    )
    assert opened.data.cqa_counts() == original.data.cqa_counts()


def test_saved_project_holds_only_csv_and_json():
    with zipfile.ZipFile(io.BytesIO(save_project(project()))) as zf:
        names = zf.namelist()
    assert all(n.endswith((".csv", ".json")) for n in names)
    assert {"manifest.json", "data.csv", "schema.json", "settings.json", "results.json"} <= set(names)


def rezip(replace: dict[str, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(save_project(project())))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n in src.namelist():
            zf.writestr(n, replace.get(n, src.read(n)))
        for n, b in replace.items():
            if n not in src.namelist():
                zf.writestr(n, b)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"not a zip", "not a zip"),
        (pickle.dumps({"a": 1}), "not a zip"),
        (rezip({"manifest.json": b'{"format": "other"}'}), "not a ProcessTwin project"),
        (rezip({"manifest.json": b'{"format": "processtwin-project", "version": 99}'}), "version 99"),
        (rezip({"settings.json": b"{broken"}), "not valid JSON"),
        (rezip({"data.csv": b"x,y\n1,2\n"}), "data.csv"),
        (rezip({"schema.json": b'{"max_cycles": "many"}'}), "schema.json"),
        (
            rezip({"manifest.json": b'{"format": "processtwin-project", "version": 1, "tables": ["../evil"]}'}),
            "bad table name",
        ),
        (
            rezip({"manifest.json": b'{"format": "processtwin-project", "version": 1, "files": ["../run.py"]}'}),
            "bad file name",
        ),
        (
            rezip({"manifest.json": b'{"format": "processtwin-project", "version": 1, "files": ["gone.json"]}'}),
            "no files/gone.json",
        ),
        (rezip({"files/augment.json": b"\xff\xfe\x00bad"}), "not UTF-8"),
    ],
)
def test_bad_project_files_raise_project_error(content, match):
    with pytest.raises(ProjectError, match=match):
        open_project(content)


@pytest.mark.parametrize("name", ["../x.json", "a/b.csv", "model.pkl", ".hidden.json", "x.json\n"])
def test_files_with_unsafe_names_are_not_saved(name):
    bad = project()
    bad.files = {name: "{}"}
    with pytest.raises(ValueError, match=r"plain \.csv or \.json name"):
        save_project(bad)


def test_saved_models_refit_their_configuration_without_a_search(monkeypatch):
    from core.models import fitting
    from core.project import model_files, saved_models
    from tests.conftest import small_data, tiny_fit

    fit = tiny_fit()
    saved = save_project(Project(small_data(), "trial", files=model_files(fit)))
    calls = []
    monkeypatch.setattr(fitting, "search_family", lambda *a, **k: calls.append(1) or pytest.fail("searched"))
    reopened = saved_models(open_project(saved))
    assert calls == []
    assert {c: f.chosen for c, f in reopened.fits.items()} == {c: f.chosen for c, f in fit.fits.items()}
    X = small_data().inputs
    before, after = fit.predictor().predict(X, return_std=True), reopened.predictor().predict(X, return_std=True)
    assert (before[0] == after[0]).all() and (before[1] == after[1]).all()
    assert reopened.schema == small_data().schema
    assert saved_models(Project(small_data(), "no models")) is None
