"""python -m tinycnn.explain: the pictures of one digit's trip, its input handling and its errors;
and the array-to-image helpers of tinycnn.draw that it uses."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tinycnn import draw, explain, load_model
from tinycnn.models import ffnn

ALL_FILES = ["01_input.png", "02_normalized.png", "03_filters.png", "04_conv2d.png", "05_max_pooling2d.png",
             "06_conv2d_1.png", "07_max_pooling2d_1.png", "08_conv2d_2.png", "09_flatten.png", "10_dense.png",
             "11_probabilities.png", "index.html"]


def draw_seven():
    """A 7 as drawn on the page's 280x280 canvas: 18-px black strokes on white, an 'L' image."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(70, 60), (210, 60), (120, 230)], fill=0, width=18, joint="curve")
    return image


@pytest.fixture(scope="module")
def model():
    return load_model(explain.DEFAULT_MODEL)


def test_mnist_index_writes_every_picture_in_order(mnist_dir, tmp_path, capsys):
    assert explain.main(["0", "--out", str(tmp_path), "--data-dir", str(mnist_dir)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ALL_FILES
    assert "index.html" in capsys.readouterr().out
    page = (tmp_path / "index.html").read_text()
    positions = [page.index(f'src="{name}"') for name in ALL_FILES[:-1]]
    assert positions == sorted(positions)
    for text in ("MNIST test image 0 (label 7)", "26x26x32", "13x13x32", "11x11x64", "5x5x64", "3x3x64", "576 numbers",
                 "64 units", "the prediction is 7"):
        assert text in page
    assert Image.open(tmp_path / "02_normalized.png").size == (280, 280)
    assert Image.open(tmp_path / "11_probabilities.png").mode == "RGB"


def test_an_image_file_is_normalized_and_read(tmp_path, model):
    path = tmp_path / "seven.png"
    draw_seven().save(path)
    original, image, description = explain.load_input(str(path))
    assert original.shape == (280, 280) and image.shape == (28, 28) and description == "seven.png"
    assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 1
    assert image[0].sum() == 0 and image.mean() < 0.3  # white digit on black, with a border
    steps = explain.activations(model, image)
    assert [out.shape for _, out in steps] == [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64),
                                               (576,), (64,), (10,)]
    assert int(steps[-1][1].argmax()) == 7


def test_either_polarity_gives_the_same_input():
    dark_on_light = np.asarray(draw_seven(), dtype=np.float32) / 255
    np.testing.assert_allclose(explain.to_model_input(dark_on_light), explain.to_model_input(1 - dark_on_light),
                               atol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda path: Image.new("L", (50, 50), 255).save(path), "no ink found"),
    (lambda path: path.write_text("not an image"), "not an image file"),
    (lambda path: None, "no such file"),
])
def test_bad_image_files_give_one_line_and_exit_2(tmp_path, capsys, make, message):
    path = tmp_path / "digit.png"
    make(path)
    assert explain.main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_out_of_range_index_and_bad_model_exit_2(mnist_dir, tmp_path, capsys):
    assert explain.main(["10000", "--out", str(tmp_path), "--data-dir", str(mnist_dir)]) == 2
    assert "MNIST test index 10000 is out of range 0-9999" in capsys.readouterr().err
    assert explain.main(["0", "--out", str(tmp_path), "--model", str(tmp_path / "none.npz")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.npz'}: no such file\n"


def test_any_saved_model_can_be_explained(tmp_path):
    ffnn(seed=0).save(tmp_path / "ffnn.npz")
    draw_seven().save(tmp_path / "seven.png")
    written = explain.explain(str(tmp_path / "seven.png"), tmp_path / "out", tmp_path / "ffnn.npz")
    assert written == ["01_input.png", "02_normalized.png", "03_flatten.png", "04_dense.png", "05_probabilities.png",
                       "index.html"]  # no filters: its first layer is not a convolution


def test_the_command_runs_as_a_module_without_tracebacks(tmp_path):
    def run(*args):
        command = [sys.executable, "-m", "tinycnn.explain", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    done = run(str(tmp_path / "gone.png"), "--out", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "gone.png: no such file" in done.stderr
    helped = run("--help")
    assert helped.returncode == 0 and "IMAGE_OR_MNIST_INDEX" in helped.stdout and "--model" in helped.stdout


# --- tinycnn.draw: arrays -> images ----------------------------------------------------------
def test_gray_maps_the_range_to_black_and_white_and_scales_up():
    image = draw.gray(np.array([[0.0, 0.5], [1.0, 2.0]]), low=0.0, high=1.0, scale=3)
    assert image.mode == "L" and image.size == (6, 6)
    assert np.asarray(image)[::3, ::3].tolist() == [[0, 128], [255, 255]]
    assert np.asarray(draw.gray(np.full((2, 2), 7.0))).max() == 0  # a flat array is black, not a division by 0


def test_diverging_colours_by_sign():
    pixels = np.asarray(draw.diverging(np.array([[-2.0, 0.0, 2.0]])))
    assert pixels[0, 1].tolist() == [255, 255, 255]
    assert pixels[0, 0, 2] > pixels[0, 0, 0] and pixels[0, 2, 0] > pixels[0, 2, 2]  # blue, then red


def test_grid_and_feature_maps_lay_out_every_tile():
    maps = np.zeros((5, 5, 10), dtype=np.float32)
    maps[2, 2, 9] = 3.0
    sheet = draw.feature_maps(maps, columns=4, scale=2)
    assert sheet.size == (4 * 12 + 2, 3 * 12 + 2)  # 10 tiles of 10 px in rows of 4, 2 px apart
    pixels = np.asarray(sheet)
    assert pixels[2 + 2 * 12 + 4, 2 + 12 + 4].tolist() == [255, 255, 255]  # tile 9 = row 2, column 1
    assert pixels[2 + 4, 2 + 4].tolist() == [0, 0, 0]


def test_data_url_is_a_png():
    url = draw.data_url(Image.new("L", (3, 2)))
    assert url.startswith("data:image/png;base64,iVBORw0KGgo")
