"""Exit codes of every `python -m core …` command."""

EXIT_OK = 0
EXIT_ROW_ERRORS = 1  # the input was read, but rows or values in it are not usable
EXIT_FAILED = 2  # the input could not be read or used, or the run could not finish
