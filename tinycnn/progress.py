"""A Keras-style progress line for training.

On a terminal it redraws one line in place (step counter, bar, ETA, running
metrics); in a log file or pipe it prints nothing until the epoch ends and then
one line, so logs never fill with thousands of updates:

    1875/1875 [==============================] - 12s 6ms/step - loss: 0.1432 - accuracy: 0.9562
"""

import sys
import time


def _format_metrics(metrics):
    return "".join(f" - {name}: {value:.4f}" for name, value in metrics.items())


class ProgressBar:
    """update(step, metrics) after each step; finish(metrics) at the end of the epoch."""

    width = 30            # characters in the bar
    redraw_interval = 0.1  # seconds between redraws on a terminal

    def __init__(self, total_steps, stream=None, interactive=None, clock=time.monotonic):
        self.total = total_steps
        self.stream = stream if stream is not None else sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.clock = clock
        self.start = clock()
        self.last_draw = None

    def _bar(self, step):
        digits = len(str(self.total))
        filled = self.width * step // self.total
        arrow = ">" if step < self.total else "="
        bar = ("=" * max(filled - 1, 0) + arrow if filled else "") + "." * (self.width - filled)
        return f"{step:>{digits}}/{self.total} [{bar}]"

    def update(self, step, metrics):
        if not self.interactive:
            return
        now = self.clock()
        if self.last_draw is not None and now - self.last_draw < self.redraw_interval:
            return
        self.last_draw = now
        eta = (now - self.start) / step * (self.total - step)
        self.stream.write(f"\r{self._bar(step)} - ETA: {eta:.0f}s{_format_metrics(metrics)}\x1b[K")
        self.stream.flush()

    def finish(self, metrics):
        seconds = self.clock() - self.start
        line = f"{self._bar(self.total)} - {seconds:.0f}s {seconds / self.total * 1000:.0f}ms/step{_format_metrics(metrics)}"
        if self.interactive:
            line = f"\r{line}\x1b[K"
        self.stream.write(line + "\n")
        self.stream.flush()
