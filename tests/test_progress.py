"""The command line's progress: one line rewritten on a terminal, a line per tenth of the work in a log."""

import io

from core.progress import ConsoleProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _report(progress: ConsoleProgress, n: int = 200) -> None:
    for k in range(1, n + 1):
        progress(k / n, f"generation {k} of {n}")
    progress.close()


def test_a_log_gets_a_line_at_the_start_at_every_tenth_and_at_the_end():
    log = io.StringIO()
    _report(ConsoleProgress(log))
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0] == "[  0%] generation 1 of 200"
    assert lines[-1] == "[100%] generation 200 of 200"
    assert [line.split("]")[0] for line in lines] == [f"[{p:3d}%" for p in range(0, 101, 10)]


def test_a_terminal_gets_one_line_rewritten_in_place_and_ended_once():
    terminal = Terminal()
    _report(ConsoleProgress(terminal), n=5)
    text = terminal.getvalue()
    assert text.count("\r") == 5
    assert text.endswith("\n") and text.count("\n") == 1
    assert text.rstrip().endswith("[100%] generation 5 of 5")


def test_close_without_any_update_writes_nothing():
    for stream in (io.StringIO(), Terminal()):
        ConsoleProgress(stream).close()
        assert stream.getvalue() == ""


def test_work_stopped_early_ends_its_log_with_the_last_update():
    log = io.StringIO()
    progress = ConsoleProgress(log)
    for step in range(1, 37):
        progress(step / 100, f"step {step}")
    progress.close()
    lines = log.getvalue().splitlines()
    assert lines == ["[  1%] step 1", "[ 10%] step 10", "[ 20%] step 20", "[ 30%] step 30", "[ 36%] step 36"]
