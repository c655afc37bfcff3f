"""The progress bar under a run (ui.runs.Progress): drawn once a run has taken SHOWN_AFTER_S, from then on at every
step report and at least every REDRAW_S; a quicker run draws nothing, not even the bar's placeholder (each redraw
re-renders the page in the browser)."""
from ui import runs


class Bar:
    def __init__(self):
        self.drawn: list[tuple[float, str]] = []

    def progress(self, value: float, text: str) -> None:
        self.drawn.append((round(value, 3), text))


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(monkeypatch, runs_=(("stage 1", 100),)):
    clock = Clock()
    monkeypatch.setattr(runs.time, "monotonic", clock)
    bar = Bar()
    placed = []
    listen = runs.Progress(lambda: placed.append(bar) or bar, list(runs_))
    listen.placed = placed
    return listen, bar, clock


def test_a_quick_run_draws_no_bar(monkeypatch):
    listen, bar, clock = progress(monkeypatch)
    for step in range(10, 101, 10):          # ten reports in 0.4 s, then done
        clock.now += 0.04
        listen(0, ("steps", step - 10, [1.0] * 10))
        listen(-1, None)                     # the ticks between reports
    listen(0, ("done",))
    assert bar.drawn == []
    assert listen.placed == [] and listen.bar is None   # not even a placeholder went to the page


def test_a_slow_run_draws_every_report_and_a_tick_at_most_every_redraw_period(monkeypatch):
    listen, bar, clock = progress(monkeypatch, [("A", 100), ("B", 100)])
    clock.now += runs.SHOWN_AFTER_S - 0.01
    listen(-1, None)
    assert bar.drawn == []                   # not yet shown
    clock.now += 0.02
    listen(0, ("steps", 0, [5.0] * 50))      # half of A: a quarter of both runs
    assert bar.drawn == [(0.25, runs.t("progress.step").format(label="A", step=50, steps=100, loss=5.0))]
    assert listen.placed == [bar]                 # placed on its first draw, once
    clock.now += runs.REDRAW_S / 2
    listen(-1, None)                         # a tick soon after a draw: nothing
    assert len(bar.drawn) == 1
    clock.now += runs.REDRAW_S
    listen(-1, None)                         # a tick after REDRAW_S: the same bar again (lets Streamlit stop the page)
    assert len(bar.drawn) == 2 and bar.drawn[-1] == bar.drawn[0]
    listen(1, ("done",))
    assert bar.drawn[-1][0] == 0.75
    assert listen.placed == [bar]
