"""The row reader (tinycnn/rows.py): how a blob becomes its input, where its digits lie, and the
shipped network on rows of touching MNIST test digits."""

import numpy as np
import pytest

from tinycnn import ctc, models, rows
from tinycnn.augment import digit_mask, touching_row
from tinycnn.read import ROW_MODELS, shipped_model

from drawing import RowReaderSaying, saying


def _bars(height=60, widths=(6, 6), gap=20):
    """Upright bars side by side, (height, w) bool."""
    mask = np.zeros((height, sum(widths) + gap * (len(widths) - 1)), dtype=bool)
    x = 0
    for width in widths:
        mask[:, x:x + width] = True
        x += width + gap
    return mask


def test_row_input_is_twenty_px_tall_from_the_fourth_column():
    row, scale, origin = rows.row_input(np.pad(_bars(), 5))
    assert row.shape == (rows.ROW_HEIGHT, rows.ROW_WIDTH) and row.dtype == np.float32
    ink_rows, ink_cols = np.nonzero(row > 0.5)
    assert ink_rows.max() - ink_rows.min() + 1 == pytest.approx(20, abs=1)
    assert ink_cols.min() == pytest.approx(rows.LEFT, abs=1)
    assert scale == pytest.approx(20 / 60, rel=0.05)
    assert origin == pytest.approx(5, abs=1)  # the bars' first column in the padded blob


def test_a_blob_too_long_for_the_row_is_narrowed_to_fit():
    row, scale, _ = rows.row_input(_bars(height=40, widths=(20,) * 12, gap=10))
    ink_cols = np.nonzero(row.any(axis=0))[0]
    assert ink_cols.max() < rows.ROW_WIDTH - rows.LEFT + 1 and scale < 20 / 40


@pytest.mark.parametrize("column_px, columns, params", [(4, 22, 352_587), (2, 47, 549_195)])
def test_column_geometry_says_where_each_output_column_looks(column_px, columns, params):
    model = rows.row_cnn(seed=0, column_px=column_px)
    assert model.count_params() == params
    step, first_centre = rows.column_geometry(model)
    assert step == column_px
    # light one column of the row at a time: the row columns that move output column t lie around its centre
    lit = np.zeros((rows.ROW_WIDTH, rows.ROW_HEIGHT, rows.ROW_WIDTH), dtype=np.float32)
    lit[np.arange(rows.ROW_WIDTH), :, np.arange(rows.ROW_WIDTH)] = 1
    logits = rows.logits_of(model, lit)
    assert logits.shape == (rows.ROW_WIDTH, columns, ctc.BLANK + 1)
    t = columns // 2
    seen = np.nonzero(np.abs(logits[:, t] - rows.logits_of(model, np.zeros_like(lit[:1]))[0, t]).max(axis=1) > 0)[0]
    assert (seen.min() + seen.max()) / 2 == step * t + first_centre


def test_row_cnn_gives_logits_for_22_columns_or_30_in_a_wide_row():
    model = rows.row_cnn(seed=0)
    assert model.count_params() == 352_587
    assert rows.logits_of(model, np.zeros((2, rows.ROW_HEIGHT, rows.ROW_WIDTH))).shape == (2, 22, ctc.BLANK + 1)
    wide = rows.row_cnn(seed=0, width=rows.WIDE_ROW)
    assert wide.count_params() == 352_587
    assert rows.logits_of(wide, np.zeros((1, rows.ROW_HEIGHT, rows.WIDE_ROW))).shape == (1, 30, ctc.BLANK + 1)


def test_a_wide_row_holds_the_same_blob_at_the_same_scale_with_room_to_spare():
    row, scale, origin = rows.row_input(np.pad(_bars(), 5), rows.WIDE_ROW)
    assert row.shape == (rows.ROW_HEIGHT, rows.WIDE_ROW)
    assert (row[:, :rows.ROW_WIDTH] == rows.row_input(np.pad(_bars(), 5))[0]).all() and not row[:, rows.ROW_WIDTH:].any()
    long_blob = _bars(height=40, widths=(20,) * 12, gap=10)
    assert rows.row_input(long_blob, rows.WIDE_ROW)[1] > rows.row_input(long_blob)[1]  # narrowed less


def _features(model, x, layers=5):
    for layer in model.layers[:layers]:
        x = layer.forward(x)
    return x


def test_take_convolutions_makes_the_row_reader_see_a_digit_as_the_reading_model_does():
    reader = models.reader_cnn(seed=1)
    row_model = rows.row_cnn(seed=0)
    digit = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    assert not np.allclose(_features(row_model, digit), _features(reader, digit))
    rows.take_convolutions(row_model, reader)
    np.testing.assert_allclose(_features(row_model, digit), _features(reader, digit), rtol=1e-6)
    assert row_model.count_params() == 352_587  # the layers after them keep their own weights and shapes


def test_take_convolutions_refuses_a_model_without_the_three_convolutions():
    with pytest.raises(ValueError, match="three convolutions"):
        rows.take_convolutions(rows.row_cnn(seed=0), models.ffnn(seed=0))


def test_read_row_places_each_digit_where_its_columns_look():
    columns = [ctc.BLANK] * 22
    columns[1], columns[6] = 1, 7  # centred on row columns 16.5 and 36.5
    mask = _bars(widths=(6, 6, 6), gap=66)
    found, logits = rows.read_row(RowReaderSaying(saying(columns)), mask)
    assert [d.label for d in found] == [1, 7] and logits.shape == (22, 11)
    _, scale, origin = rows.row_input(mask)
    middle = origin + ((16.5 + 36.5) / 2 - rows.LEFT) / scale  # half way between their centres, in blob columns
    assert found[0].left == 0 and found[0].right == pytest.approx(middle) == found[1].left
    assert found[1].right == mask.shape[1]
    assert found[0].prob > 0.99 and len(found[0].alternatives) == 3


def test_read_rows_makes_the_row_once_for_each_width_and_reads_as_read_row(monkeypatch):
    readers = [shipped_model(name) for name in ROW_MODELS]
    mask = _bars(widths=(6, 6, 6), gap=30)
    one_by_one = [rows.read_row(reader, mask) for reader in readers]
    made = []
    row_input = rows.row_input
    monkeypatch.setattr(rows, "row_input", lambda mask, width: made.append(width) or row_input(mask, width))
    together = rows.read_rows(readers, mask)
    assert sorted(made) == sorted({reader.input_shape[1] for reader in readers}) == [rows.ROW_WIDTH, rows.WIDE_ROW]
    for (found, logits), (again, again_logits) in zip(one_by_one, together):
        assert found == again and (logits == again_logits).all()


@pytest.mark.parametrize("name", ROW_MODELS)
def test_the_shipped_row_readers_read_rows_of_touching_test_digits(mnist_data, name):
    _, (x_test, y_test) = mnist_data
    rng = np.random.default_rng(0)
    model = shipped_model(name)
    right = 0
    for _ in range(200):
        picked = rng.integers(0, len(x_test), rng.integers(2, 5))
        row = touching_row([digit_mask(x_test[i], int(y_test[i]), rng, 48) for i in picked], rng)
        found, _ = rows.read_row(model, row)
        right += [d.label for d in found] == [int(y_test[i]) for i in picked]
    # the 28x112 network reads 146 of them (the one before it, without the 1x3 convolutions: 139), the 28x144 one
    # 149; trained four epochs further, 155 and 157; in columns 2 px apart, 155, trained further 159, and again 156
    assert right >= 0.70 * 200
    first = model.metadata.get("start_from_commands") or [model.metadata.get("start_from_command", model.metadata["command"])]
    assert "train_row_reader.py --seed 0 " in first[0]  # the oldest command of its training
