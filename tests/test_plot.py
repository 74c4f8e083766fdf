"""python -m tinycnn.plot: training curves from a History JSON file; and the chart helpers of tinycnn.draw."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tinycnn import draw, plot
from tinycnn.model import History


def write_history(path, epochs=3, validation=True, steps=True):
    """A History like fit() makes, saved with History.save."""
    history = History()
    for epoch in range(epochs):
        logs = {"loss": 1.0 / (epoch + 1), "accuracy": 0.8 + 0.05 * epoch}
        if validation:
            logs.update(val_loss=1.2 / (epoch + 1), val_accuracy=0.78 + 0.05 * epoch)
        history.append(epoch, logs)
        if steps:
            history.steps += [{"epoch": t, "loss": 1.5 / t, "accuracy": 0.7 + 0.04 * t}
                              for t in (epoch + k / 4 for k in range(1, 5))]
    history.save(path)
    return path


def colour_count(path, colour):
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return int((pixels == colour).all(axis=1).sum())


def test_curves_show_train_test_and_steps(tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert plot.main([str(write_history(tmp_path / "h.json")), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"Saved {out}\n"
    assert Image.open(out).size == (2 * plot.PANEL[0], plot.PANEL[1])
    for colour in (draw.BLUE, draw.ORANGE, draw.GREY):
        assert colour_count(out, colour) > 100, colour


def test_a_history_without_test_data_or_steps_draws_train_only(tmp_path):
    out = tmp_path / "curves.png"
    history = write_history(tmp_path / "h.json", epochs=1, validation=False, steps=False)
    assert plot.main([str(history), "--out", str(out)]) == 0
    assert colour_count(out, draw.BLUE) > 50 and colour_count(out, draw.ORANGE) == 0


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", 'not a training history (no "history" with a "loss" list)'),
    ('{"history": {"loss": []}}', "not a training history"),
    ('{"history": {"loss": [0.5, "x"]}}', 'history["loss"] must be a list of finite numbers'),
    ('{"history": {"loss": [0.5, NaN]}}', "finite numbers"),
    ('{"history": {"loss": [0.5]}, "steps": [1]}', '"steps" must be a list'),
    ('{"history": {"loss": [0.5]}, "steps": [{"epoch": 0.5}]}', 'every step\'s "loss" must be'),
    (None, "no such file"),
])
def test_bad_history_files_give_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "h.json"
    if content is not None:
        path.write_text(content)
    assert plot.main([str(path), "--out", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "c.png").exists()


def test_the_command_runs_as_a_module(tmp_path):
    history = write_history(tmp_path / "h.json")
    def run(*args):
        return subprocess.run([sys.executable, "-m", "tinycnn.plot", *args], capture_output=True, text=True, timeout=60)

    done = run(str(history), "--out", str(tmp_path / "nodir" / "c.png"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "cannot write" in done.stderr
    helped = run("--help")
    assert helped.returncode == 0 and "HISTORY.json" in helped.stdout


def test_history_json_from_the_trainer_is_read_back(tmp_path):
    path = write_history(tmp_path / "h.json")
    history, steps = plot.read_history(path)
    assert history["val_accuracy"] == json.loads(path.read_text())["history"]["val_accuracy"]
    assert len(steps) == 12 and steps[0]["epoch"] == 0.25


# --- tinycnn.draw: charts --------------------------------------------------------------------
@given(st.floats(-1e4, 1e4), st.floats(1e-3, 1e4), st.integers(2, 10))
def test_nice_ticks_are_round_evenly_spaced_and_inside(low, span, count):
    ticks = draw.nice_ticks(low, low + span, count)
    assert 1 <= len(ticks) <= count + 1
    slack = 1e-8 * span  # nice_ticks forgives rounding noise of a billionth of a step
    assert all(low - slack <= t <= low + span + slack for t in ticks)
    if len(ticks) > 1:
        step = (ticks[-1] - ticks[0]) / (len(ticks) - 1)
        np.testing.assert_allclose(np.diff(ticks), step, rtol=1e-6)
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6


def test_nice_ticks_examples():
    assert draw.nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert draw.nice_ticks(0.97, 0.995) == [0.97, 0.975, 0.98, 0.985, 0.99, 0.995]
    assert [draw.tick_label(t) for t in draw.nice_ticks(0, 3, 3)] == ["0", "1", "2", "3"]


def test_axes_map_data_to_pixels_upwards():
    axes = draw.Axes(Image.new("RGB", (200, 200), draw.WHITE), (50, 20, 150, 120), (0, 10), (0, 1))
    assert axes.px(0, 0) == (50, 120) and axes.px(10, 1) == (150, 20) and axes.px(5, 0.5) == (100, 70)


def test_bar_chart_highlights_one_bar():
    chart = draw.bar_chart([0.1, 0.7, 0.2], "abc", highlight=1, title="t")
    pixels = np.asarray(chart).reshape(-1, 3)
    orange = (pixels == draw.ORANGE).all(axis=1).sum()
    blue = (pixels == draw.BLUE).all(axis=1).sum()
    assert orange > 0 and blue > 0 and abs(orange / blue - 0.7 / 0.3) < 0.3
