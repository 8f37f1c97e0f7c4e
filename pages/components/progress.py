"""A progress bar fed by a core progress callback while the computation runs in a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import streamlit as st


def with_progress(label: str, function: Callable[..., Any], *args: Any) -> Any:
    """Run a cached computation in a worker thread and mirror its progress callback in a progress bar.

    The worker only writes to a plain dict, so the cached function records no
    page elements and its cached result replays cleanly. Returns None after
    showing the message of a ValueError (bad settings or data).
    """
    status = {"fraction": 0.0, "message": label}
    outcome: dict = {}

    def report(fraction: float, message: str) -> None:
        status.update(fraction=min(max(fraction, 0.0), 1.0), message=message)

    def work() -> None:
        try:
            outcome["value"] = function(*args, _progress=report)
        except ValueError as error:
            outcome["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    bar = st.progress(0.0, text=label)
    while worker.is_alive():
        worker.join(0.25)
        bar.progress(status["fraction"], text=status["message"])
    if "error" in outcome:
        st.error(str(outcome["error"]))
        return None
    bar.progress(1.0, text=f"{label}: done")
    return outcome["value"]
