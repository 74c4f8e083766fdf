import io

from tinycnn.progress import ProgressBar


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_terminal_redraws_in_place_with_eta_then_ends_the_line():
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(4, stream=out, interactive=True, clock=clock)
    for step in range(1, 5):
        clock.now = step * 1.0
        bar.update(step, {"loss": 0.5})
    bar.finish({"loss": 0.25, "accuracy": 0.9})
    text = out.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 5
    assert "1/4 [======>.......................] - ETA: 3s - loss: 0.5000" in text
    assert text.rstrip("\n").endswith("4/4 [==============================] - 4s 1000ms/step - loss: 0.2500 - accuracy: 0.9000\x1b[K")


def test_terminal_redraws_are_throttled():
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(1000, stream=out, interactive=True, clock=clock)
    for step in range(1, 1001):
        clock.now = step * 0.001  # 1000 steps in one second
        bar.update(step, {})
    assert 5 <= out.getvalue().count("\r") <= 11


def test_a_log_file_gets_one_plain_line():
    out = io.StringIO()
    bar = ProgressBar(3, stream=out, clock=FakeClock())
    for step in range(1, 4):
        bar.update(step, {"loss": 1.0})
    bar.finish({"loss": 1.0})
    assert out.getvalue() == "3/3 [==============================] - 0s 0ms/step - loss: 1.0000\n"
