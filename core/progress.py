"""The progress callback every long computation in core accepts, and its console form for the command line."""

import math
import sys
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[float, str], None]  # called with (fraction done in [0, 1], what is being done)


class ConsoleProgress:
    """A `Progress` for a command's standard error.

    On a terminal it rewrites one line in place. Redirected to a file or a pipe,
    carriage returns would run hundreds of updates into a single line, so it
    writes a line of its own at the first update and at every further tenth of
    the work. `close`, when the work is done or stopped, ends the terminal's
    line or writes the log's last update if it has not been written."""

    def __init__(self, stream: TextIO | None = None, steps: int = 10) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.steps = steps
        self.in_place = self.stream.isatty()
        self._last_step: int | None = None
        self._unwritten: str | None = None  # the last update, when it has not been written

    def __call__(self, fraction: float, message: str) -> None:
        text = f"[{fraction:4.0%}] {message}"
        if self.in_place:
            print(f"\r{text:<78}", end="", file=self.stream, flush=True)
            self._unwritten = ""  # the line is on screen; only its end is missing
            return
        step = math.floor(min(max(fraction, 0.0), 1.0) * self.steps)
        if step == self._last_step:
            self._unwritten = text
            return
        print(text, file=self.stream, flush=True)
        self._last_step, self._unwritten = step, None

    def close(self) -> None:
        if self._unwritten is not None:
            print(self._unwritten, file=self.stream, flush=True)
            self._unwritten = None
