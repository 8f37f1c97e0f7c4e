"""Progress bars fed by core's progress callbacks (`core.progress.Progress`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from core.progress import Progress


@contextmanager
def progress_status(label: str, first: str) -> Iterator[tuple[Any, Progress]]:
    """A progress bar over a collapsed status box; yields the box and a callback that moves the bar and logs each
    message in the box. The bar goes when the block ends (the box's label then says how it ended)."""
    bar = st.progress(0.0, text=first)
    try:
        with st.status(label, expanded=False) as status:
            yield (
                status,
                lambda fraction, message: (bar.progress(min(fraction, 1.0), text=message), status.write(message)),
            )
    finally:
        bar.empty()


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
