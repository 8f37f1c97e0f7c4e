"""The progress callback every long computation in core accepts."""

from collections.abc import Callable

Progress = Callable[[float, str], None]  # called with (fraction done in [0, 1], what is being done)
