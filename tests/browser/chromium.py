"""Where the browser tests find Chromium, and what happens when there is none.

`make test` runs this file first: it reports the Chromium it will use, or installs Debian's package when it can
(root and apt-get), or says that the browser tests will not run. The pytest hooks in `tests/conftest.py` use the
same lookup: without Chromium the browser tests are skipped and the run ends with one loud line naming them and
the command that enables them, unless `PROCESSTWIN_REQUIRE_BROWSER=1` (set by `.ci/run`) makes it a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REQUIRE_ENV = "PROCESSTWIN_REQUIRE_BROWSER"
PATH_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Playwright's own download (`playwright install chromium`) is used when present; the tests never download one.
PLAYWRIGHT_GLOB = "~/.cache/ms-playwright/chromium-*/chrome-linux*/chrome"
APT_INSTALL = ("apt-get", "install", "-y", "-qq", "chromium")
ENABLE_COMMAND = "sudo apt-get install -y chromium   # or: export CHROMIUM=/path/to/chromium"
SKIP_REASON = "Chromium not found"

Which = Callable[[str], str | None]


def find_chromium(
    env: dict[str, str] | None = None, which: Which = shutil.which, globber: Callable[[str], list[str]] | None = None
) -> str | None:
    """The Chromium executable to drive: `$CHROMIUM`, then the PATH, then Playwright's cache; None if none."""
    env = os.environ if env is None else env
    explicit = env.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in PATH_NAMES:
        path = which(name)
        if path:
            return path
    globber = globber or (lambda pattern: sorted(glob.glob(os.path.expanduser(pattern))))
    cached = globber(PLAYWRIGHT_GLOB)
    return cached[-1] if cached else None


def browser_required(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def can_install(is_root: bool | None = None, which: Which = shutil.which) -> bool:
    """Debian's package can be installed here without asking anyone: root, and apt-get on the PATH."""
    is_root = (os.geteuid() == 0) if is_root is None else is_root
    return is_root and which("apt-get") is not None


def install_chromium(run: Callable[[Sequence[str]], int] | None = None) -> bool:
    """apt-get update + install chromium; True when both steps succeeded."""
    run = run or _run_quietly
    return run(("apt-get", "update", "-qq")) == 0 and run(APT_INSTALL) == 0


def _run_quietly(cmd: Sequence[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(cmd), env=env, stdout=subprocess.DEVNULL, check=False).returncode


def ensure_chromium(
    env: dict[str, str] | None = None,
    which: Which = shutil.which,
    is_root: bool | None = None,
    install: Callable[[], bool] = install_chromium,
    globber: Callable[[str], list[str]] | None = None,
) -> str | None:
    """Find Chromium, installing Debian's package first when none is found and that is possible."""
    found = find_chromium(env, which, globber)
    if found or not can_install(is_root, which):
        return found
    if not install():
        return None
    return find_chromium(env, which, globber)


def missing_browser_line(test_ids: Sequence[str]) -> str:
    """The loud report line at the end of a run that skipped browser tests."""
    names = ", ".join(test_ids) if test_ids else "tests/browser/"
    return f"BROWSER TESTS NOT RUN ({len(test_ids)}: {names}): {SKIP_REASON}. Enable them with: {ENABLE_COMMAND}"


def main() -> int:
    """`make test`'s first step: exit 1 only when the browser is required and cannot be had."""
    path = ensure_chromium()
    if path:
        print(f"Browser tests use Chromium at {path}")
        return 0
    if browser_required():
        print(f"{REQUIRE_ENV}=1 and no Chromium could be found or installed.", file=sys.stderr)
        return 1
    print(f"No Chromium found: the browser tests will be skipped. Enable them with: {ENABLE_COMMAND}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
