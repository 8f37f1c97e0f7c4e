"""Finding Chromium for the browser tests, installing it when possible, and the report when it is missing."""

import os
import subprocess
import sys
from pathlib import Path

from tests.browser import chromium

ROOT = Path(__file__).resolve().parents[1]


def no_glob(_pattern: str) -> list[str]:
    return []


def which_from(installed: dict[str, str]):
    return installed.get


def test_finds_chromium_on_the_path():
    which = which_from({"chromium-browser": "/usr/bin/chromium-browser"})
    assert chromium.find_chromium(env={}, which=which, globber=no_glob) == "/usr/bin/chromium-browser"


def test_explicit_chromium_wins_and_a_wrong_one_counts_as_missing(tmp_path):
    exe = tmp_path / "chrome"
    exe.write_text("")
    which = which_from({"chromium": "/usr/bin/chromium"})
    assert chromium.find_chromium(env={"CHROMIUM": str(exe)}, which=which, globber=no_glob) == str(exe)
    assert chromium.find_chromium(env={"CHROMIUM": str(tmp_path / "nope")}, which=which, globber=no_glob) is None


def test_falls_back_to_playwrights_download():
    found = chromium.find_chromium(env={}, which=which_from({}), globber=lambda _p: ["/c/chromium-1/chrome"])
    assert found == "/c/chromium-1/chrome"
    assert chromium.find_chromium(env={}, which=which_from({}), globber=no_glob) is None


def test_installs_only_as_root_with_apt():
    calls = []
    installed: dict[str, str] = {"apt-get": "/usr/bin/apt-get"}

    def install() -> bool:
        calls.append(1)
        installed["chromium"] = "/usr/bin/chromium"
        return True

    which = which_from(installed)
    assert chromium.ensure_chromium({}, which, is_root=False, install=install, globber=no_glob) is None
    assert calls == []
    assert chromium.ensure_chromium({}, which, is_root=True, install=install, globber=no_glob) == "/usr/bin/chromium"
    assert calls == [1]


def test_no_install_without_apt_or_when_it_fails():
    def failing() -> bool:
        return False

    assert chromium.ensure_chromium({}, which_from({}), is_root=True, install=failing, globber=no_glob) is None
    apt = which_from({"apt-get": "/usr/bin/apt-get"})
    assert chromium.ensure_chromium({}, apt, is_root=True, install=failing, globber=no_glob) is None


def test_install_runs_update_then_install_and_stops_on_failure():
    ran = []
    assert chromium.install_chromium(lambda cmd: ran.append(tuple(cmd)) or 0)
    assert ran[0][:2] == ("apt-get", "update") and ran[1] == chromium.APT_INSTALL
    ran.clear()
    assert not chromium.install_chromium(lambda cmd: ran.append(tuple(cmd)) or 100)
    assert len(ran) == 1


def test_required_flag():
    assert chromium.browser_required({"PROCESSTWIN_REQUIRE_BROWSER": "1"})
    assert not chromium.browser_required({"PROCESSTWIN_REQUIRE_BROWSER": "0"})
    assert not chromium.browser_required({})


def run_browser_file(**extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != chromium.REQUIRE_ENV}
    env.update(CHROMIUM="/nonexistent/chromium", **extra_env)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser/test_data_page.py"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_missing_browser_is_skipped_loudly_and_the_run_passes():
    result = run_browser_file()
    assert result.returncode == 0, result.stdout
    assert "BROWSER TESTS NOT RUN (1: tests/browser/test_data_page.py::test_upload_valid_then_hostile_file)" in (
        result.stdout
    )
    assert "apt-get install -y chromium" in result.stdout


def test_missing_browser_fails_when_required():
    result = run_browser_file(PROCESSTWIN_REQUIRE_BROWSER="1")
    assert result.returncode != 0
    assert "BROWSER TESTS NOT RUN" not in result.stdout
    assert "PROCESSTWIN_REQUIRE_BROWSER=1 but Chromium is not installed" in result.stdout
