from types import SimpleNamespace

import numpy as np
import pytest

from tinycnn import load_model
from tinycnn.datasets import mnist
from tinycnn.train import main, prepare_images


def test_prepare_images_scales_to_unit_range_with_a_channel_axis():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = prepare_images(images)
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, :, 0], [[0, 1], [0.2, 0.4]])


def test_train_command_end_to_end(mnist_dir, tmp_path, capsys):
    out = tmp_path / "ffnn.npz"
    code = main(["--model", "ffnn", "--epochs", "1", "--limit", "1000", "--seed", "1",
                 "--data-dir", str(mnist_dir), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Total params: 101,770" in printed and "Epoch 1/1" in printed
    assert "32/32 [==============================]" in printed
    accuracy = float(printed.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.7
    model = load_model(out)
    assert model.metadata["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert model.metadata["command"].startswith("python -m tinycnn.train --model ffnn")


def test_train_command_reports_bad_data_in_one_line(tmp_path, capsys):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x01garbage")
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(tmp_path) in err
    assert not (tmp_path / "m.npz").exists()


def test_train_command_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exit_info:
        main(["--epochs", "0"])
    assert exit_info.value.code == 2


def test_train_reader_evaluates_saved_models_averaged(mnist_data, capsys):
    from script_loader import load_script
    from tinycnn.read import DEFAULT_MODEL, shipped_model

    train_reader = load_script("train_reader")
    _, (x_test, y_test) = mnist_data
    ensemble = shipped_model(DEFAULT_MODEL)
    scores = train_reader.accuracy_table(ensemble, x_test[:200], y_test[:200], x_test[200:300], y_test[200:300])
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == ["| mnist_test", "| mnist_test_through_reader", "| usps_held_aside"]
    expected = train_reader.digit_accuracy(ensemble, prepare_images(x_test[:200]), y_test[:200])
    assert scores["mnist_test"] == expected and rows[0].endswith(f"| {100 * expected:.2f}% |")


def test_train_row_reader_end_to_end(mnist_dir, tmp_path, capsys):
    from script_loader import load_script
    from tinycnn.rows import ROW_HEIGHT, ROW_WIDTH, WIDE_ROW

    train_row_reader = load_script("train_row_reader")
    (x_train, y_train), _ = mnist.load_data(mnist_dir, download=False)
    one, _ = train_row_reader.make_rows(x_train[:50], y_train[:50], 6, seed=3, workers=1, chunk=4)
    two, strings = train_row_reader.make_rows(x_train[:50], y_train[:50], 6, seed=3, workers=2, chunk=4)
    assert one.shape == (6, ROW_HEIGHT, ROW_WIDTH) and (one == two).all()  # the same rows however many workers
    assert all(1 <= len(s) <= 6 for s in strings)
    wide, strings = train_row_reader.make_rows(x_train[:50], y_train[:50], 40, seed=3, workers=1, width=WIDE_ROW)
    assert wide.shape == (40, ROW_HEIGHT, WIDE_ROW) and max(len(s) for s in strings) > 6  # up to eight digits a row
    out = tmp_path / "rows.npz"
    assert train_row_reader.main(["--rows", "64", "--held-aside", "8", "--epochs", "2", "--workers", "1",
                                  "--data-dir", str(mnist_dir), "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    losses = [float(line.split("CTC loss ")[1].split()[0]) for line in printed.splitlines() if "CTC loss" in line]
    assert len(losses) == 2 and losses[1] < losses[0]  # it learns
    model = load_model(out)
    assert model.metadata["seed"] == 5 and model.metadata["command"].startswith("python scripts/train_row_reader.py")
    assert model.metadata["start_from"] == "reader_cnn.npz"  # the shipped reading model's convolutions
    assert model.metadata["row_width"] == ROW_WIDTH and model.input_shape == (ROW_HEIGHT, ROW_WIDTH, 1)
    assert "rows held aside read exactly" in printed

    further = tmp_path / "further.npz"  # a row reader of the same width goes on from all its weights
    assert train_row_reader.main(["--rows", "64", "--held-aside", "8", "--epochs", "1", "--workers", "1",
                                  "--data-dir", str(mnist_dir), "--seed", "5", "--start-from", str(out),
                                  "--out", str(further)]) == 0
    printed = capsys.readouterr().out
    assert float(printed.split("CTC loss ")[1].split()[0]) < losses[1]  # on from where it stopped
    first_command = model.metadata["command"]
    assert load_model(further).metadata["start_from_commands"] == [first_command]

    furthest = tmp_path / "furthest.npz"  # and from that one: every command before it is kept, oldest first
    assert train_row_reader.main(["--rows", "16", "--held-aside", "4", "--epochs", "1", "--workers", "1",
                                  "--data-dir", str(mnist_dir), "--seed", "6", "--start-from", str(further),
                                  "--out", str(furthest)]) == 0
    assert load_model(furthest).metadata["start_from_commands"] == [first_command,
                                                                     load_model(further).metadata["command"]]
    fine = tmp_path / "fine.npz"  # columns 2 px apart: from a 4-px reader it takes the three convolutions only
    assert train_row_reader.main(["--rows", "16", "--held-aside", "4", "--epochs", "1", "--workers", "1",
                                  "--data-dir", str(mnist_dir), "--column-px", "2", "--start-from", str(further),
                                  "--out", str(fine)]) == 0
    fine_model = load_model(fine)
    assert fine_model.metadata["column_px"] == 2 and "start_from_commands" not in fine_model.metadata
    assert fine_model.layers[-1].output_shape == (1, 47, 11)
    # a file from before that names only the command before it, as start_from_command
    older = SimpleNamespace(metadata={"command": "b", "start_from_command": "a"})
    assert train_row_reader.earlier_commands(older) == ["a"]


def test_shifted_rows_are_the_rows_moved_with_nothing_wrapped_round():
    from script_loader import load_script

    shifted = load_script("train_row_reader").shifted
    rows = np.random.default_rng(0).random((40, 28, 112)).astype(np.float32)
    moved = shifted(rows, np.random.default_rng(1))
    seen = set()
    for row, out in zip(rows, moved):
        for dx in range(4):
            for dy in (-1, 0, 1):
                inside = out[max(dy, 0):28 + min(dy, 0), dx:]
                if np.array_equal(inside, row[max(-dy, 0):28 - max(dy, 0), :112 - dx]):
                    break
            else:
                continue
            break
        else:
            pytest.fail("a row is not its original moved 0-3 px right and a pixel at most up or down")
        assert np.count_nonzero(out) == inside.size  # what came in from the edges is zero
        seen.add((dx, dy))
    assert len(seen) > 6  # the moves vary


def test_harvested_blobs_train_a_row_reader(mnist_dir, tmp_path, capsys):
    from script_loader import load_script
    from tinycnn.rows import ROW_HEIGHT, ROW_WIDTH, WIDE_ROW

    harvest_blobs, train_row_reader = load_script("harvest_blobs"), load_script("train_row_reader")
    (x_train, y_train), _ = mnist.load_data(mnist_dir, download=False)
    by_width, strings, conditions = harvest_blobs.harvest(x_train[:500], y_train[:500], 10, seed=1, workers=1, chunk=5)
    assert len(strings) >= 10 and len(conditions) == len(strings)
    assert by_width[ROW_WIDTH].shape == (len(strings), ROW_HEIGHT, ROW_WIDTH)
    assert by_width[WIDE_ROW].shape == (len(strings), ROW_HEIGHT, WIDE_ROW)
    assert all(1 <= len(s) <= harvest_blobs.MAX_DIGITS for s in strings)
    assert {label for s in strings for label in s} <= set(y_train[:500].tolist())
    again, _, _ = harvest_blobs.harvest(x_train[:500], y_train[:500], 10, seed=1, workers=2, chunk=5)
    assert (again[ROW_WIDTH] == by_width[ROW_WIDTH]).all()  # the same blobs however many workers

    blobs = tmp_path / "blobs.npz"
    harvest_blobs.save_blobs(blobs, by_width, strings, conditions)
    rows, loaded = train_row_reader.load_blobs(blobs, WIDE_ROW)
    assert loaded == strings and (rows == by_width[WIDE_ROW]).all()
    args = SimpleNamespace(row_width=ROW_WIDTH, rows=8, seed=0, workers=1)
    train, train_strings, aside, aside_strings = train_row_reader.training_rows(
        args, x_train[:50], y_train[:50], train_row_reader.load_blobs(blobs, ROW_WIDTH))
    held = len(strings) // 10
    assert len(aside) == len(aside_strings) == held and len(train) == len(train_strings) == len(strings) - held + 8
    blob_rows = [row.tobytes() for row in by_width[ROW_WIDTH]]
    trained = [row.tobytes() for row in train[:len(strings) - held]]  # every blob in one part or the other, once
    assert sorted(trained + [row.tobytes() for row in aside]) == sorted(blob_rows)
    out = tmp_path / "on_blobs.npz"
    assert train_row_reader.main(["--blobs", str(blobs), "--rows", "8", "--epochs", "1", "--workers", "1",
                                  "--data-dir", str(mnist_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{len(strings) - held + 8} rows to train on, {held} held aside" in printed  # the blobs and 8 made rows
    assert "blobs held aside read exactly" in printed and f"of {held}\n" in printed
    assert load_model(out).metadata["blobs"] == "blobs.npz"
    with pytest.raises(SystemExit, match="missing.npz: not a file of blobs"):
        train_row_reader.main(["--blobs", str(tmp_path / "missing.npz"), "--data-dir", str(mnist_dir)])


def test_blob_digits_are_those_centred_inside_the_blob_left_to_right():
    from script_loader import load_script

    blob_digits = load_script("harvest_blobs").blob_digits
    blob = SimpleNamespace(box=(10, 5, 20, 10))  # working px; the image is twice as large
    boxes = [[44, 10, 10, 20], [22, 10, 14, 20], [4, 10, 10, 20], [60, 12, 10, 20], [30, 40, 10, 10]]
    # centres in working px: x 24.5, 14.5, 4.5 (left of the blob), 32.5 (right of it); the last lies below it
    assert blob_digits(blob, [7, 3, 1, 9, 4], boxes, factor=2.0) == [3, 7]
