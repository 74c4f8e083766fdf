import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tinycnn import read
from tinycnn.ctc import BLANK
from tinycnn.read import main, read_digits

from drawing import ClassifierSaying, FineRowReaderSaying, RowReaderSaying, render, saying, sideways_jpeg, sure_of


def pick_digits(mnist_data, text, start=0):
    """MNIST test digits spelling `text` (uint8 28x28, white on black), the first of each label from `start`."""
    _, (x_test, y_test) = mnist_data
    return [x_test[start + np.flatnonzero(y_test[start:] == int(ch))[0]] for ch in text]


def number_image(digits, height=64, gap=12, margin=30, word_gaps=()):
    """Dark digits on white paper, left to right, like a number written on a sheet."""
    tiles = [Image.fromarray(255 - d).resize((height, height), Image.Resampling.BICUBIC) for d in digits]
    width = 2 * margin + sum(t.width for t in tiles) + gap * (len(tiles) - 1) + sum(height for _ in word_gaps)
    page = Image.new("L", (width, height + 2 * margin), 255)
    x = margin
    for i, tile in enumerate(tiles):
        if i in word_gaps:
            x += height
        page.paste(tile, (x, margin), mask=Image.fromarray(255 - np.asarray(tile)).point(lambda v: 255 if v > 40 else 0))
        x += tile.width + gap
    return page


@pytest.fixture
def paper_model():
    return read.shipped_model(read.PAPER_MODEL)


def test_reads_a_number(mnist_data, paper_model, tmp_path):
    path = tmp_path / "4721.png"
    number_image(pick_digits(mnist_data, "4721")).save(path)
    reading = read_digits(path, model=paper_model)
    assert reading.text == "4721"
    assert reading.lines == ["4721"]
    assert [d.line for d in reading.digits] == [0, 0, 0, 0]
    xs = [d.box[0] for d in reading.digits]
    assert xs == sorted(xs)
    for digit in reading.digits:
        assert 0 <= digit.prob <= 1 and len(digit.alternatives) == 3
        assert all(prob <= digit.prob for _, prob in digit.alternatives)


def test_word_gap_becomes_a_space(mnist_data, paper_model):
    reading = read_digits(number_image(pick_digits(mnist_data, "127"), word_gaps=(2,)), model=paper_model)
    assert reading.text == "12 7"


READER_SEED0 = str(read.resources.files("tinycnn") / "weights" / "reader_cnn.npz")  # one network of the reading model


def test_a_known_count_of_digits_mends_the_segmentation(mnist_data):
    image = number_image(pick_digits(mnist_data, "8163"), gap=-24)  # digits overlapping by 24 px of 64
    model = read.load_model(READER_SEED0)
    # the split search alone (no second reading by the row reader): on its own, this network cuts them wrong
    assert len(read_digits(image, model, row_readers=False).digits) != 4
    assert read_digits(image, model, digits=4, row_readers=False).text == "8163"
    assert read_digits(image, model, digits=(3, 4), row_readers=False).text == "8163"


def test_two_lines(mnist_data, paper_model):
    top, bottom = number_image(pick_digits(mnist_data, "305")), number_image(pick_digits(mnist_data, "86", start=500))
    page = Image.new("L", (max(top.width, bottom.width), top.height + bottom.height), 255)
    page.paste(top, (0, 0))
    page.paste(bottom, (0, top.height))
    reading = read_digits(page, model=paper_model)
    assert reading.lines == ["305", "86"] and reading.text == "305\n86"


def test_light_on_dark_reads_the_same(mnist_data, paper_model):
    image = number_image(pick_digits(mnist_data, "90"))
    inverted = Image.fromarray(255 - np.asarray(image))
    assert read_digits(inverted, model=paper_model).text == read_digits(image, model=paper_model).text == "90"


def test_to_dict_is_the_json_form(mnist_data, paper_model):
    data = read_digits(number_image(pick_digits(mnist_data, "58")), model=paper_model).to_dict()
    assert set(data) == {"file", "text", "lines", "digits", "slashes", "uncertain"}
    assert set(data["digits"][0]) >= {"label", "prob", "box", "line", "alternatives"}
    json.dumps(data)


def test_min_confidence_marks_uncertain_digits(mnist_data, paper_model):
    image = number_image(pick_digits(mnist_data, "3"))
    assert not read_digits(image, model=paper_model, min_confidence=0.0).uncertain
    assert read_digits(image, model=paper_model, min_confidence=1.01).uncertain


def test_a_digit_cut_where_another_cut_read_nearly_as_well_is_uncertain():
    from tinycnn.read import CUT_DOUBT, Digit, Reading

    def reading(margin):
        return Reading("x.png", [Digit(3, 0.99, (0, 0, 10, 20), 0, cut_margin=margin)])

    assert not reading(None).uncertain  # kept whole without weighing cuts
    assert not reading(CUT_DOUBT + 0.1).uncertain
    assert reading(CUT_DOUBT - 0.1).uncertain and reading(CUT_DOUBT - 0.1).to_dict()["uncertain"]
    assert reading(0.5).to_dict()["digits"][0]["cut_margin"] == 0.5


def _blob_read_as_47():
    """A blob 80x60 px (three bars, say "417" with the 1 swallowed) that the split search weighed, and the
    classifier's reading of it: 4 and 7, after a 5 that is not in the blob."""
    from tinycnn.read import Digit
    from tinycnn.segment import Segment
    mask = np.zeros((80, 60), dtype=bool)
    mask[:, 4:10] = mask[:, 26:32] = mask[:, 48:54] = True
    blob = Segment((100, 10, 60, 80), mask, 0)
    digits = [Digit(5, 0.99, (20, 10, 40, 80), 0), Digit(4, 0.98, (100, 10, 30, 80), 0, cut_margin=3.0),
              Digit(7, 0.97, (130, 10, 30, 80), 0, cut_margin=3.0)]
    return digits, blob


NOT_ASKED = None  # the reading model, asked only about row readings of fewer digits than its own


def _columns(*labels):
    """22 row-reader columns saying `labels`, one digit every fifth column from column 1."""
    columns = [BLANK] * 22
    for k, label in enumerate(labels):
        columns[1 + 5 * k] = label
    return columns


def test_the_row_reader_replaces_a_blobs_digits_when_it_is_surer_of_its_own_reading(capsys):
    from tinycnn.read import Reading, read_again
    digits, blob = _blob_read_as_47()
    again = read_again(digits, [blob], [RowReaderSaying(saying(_columns(4, 1, 7)))], NOT_ASKED, 1.0, (200, 300))
    assert [d.label for d in again] == [5, 4, 1, 7] and again[0] == digits[0]
    assert all(d.row_doubt for d in again[1:]) and Reading("x.png", again).uncertain
    assert again[1].box[0] == 100 and again[3].box[0] + again[3].box[2] == 160  # within the blob, side by side
    assert all(a.box[0] + a.box[2] == b.box[0] for a, b in zip(again[1:], again[2:]))
    # a 1 it hardly sees (a little likelier than nothing in one column): the classifier's digits stay, flagged
    unsure = saying(_columns(4, BLANK, 7))
    unsure[6, 1] = unsure[6, BLANK] + 0.2
    kept = read_again(digits, [blob], [RowReaderSaying(unsure)], NOT_ASKED, 1.0, (200, 300))
    assert [d.label for d in kept] == [5, 4, 7] and kept[1].row_doubt and kept[2].row_doubt and not kept[0].row_doubt
    read._report_uncertain(Reading("x.png", kept), "")
    assert read.ROW_DISAGREES in capsys.readouterr().err
    # reading the same: nothing changes
    assert read_again(digits, [blob], [RowReaderSaying(saying(_columns(4, 7)))], NOT_ASKED, 1.0, (200, 300)) == digits


def test_row_readers_replace_the_digits_only_with_what_they_find_likelier_together():
    from tinycnn.read import read_again
    digits, blob = _blob_read_as_47()
    sees_the_one, does_not = RowReaderSaying(saying(_columns(4, 1, 7))), RowReaderSaying(saying(_columns(4, 7)))
    split = read_again(digits, [blob], [sees_the_one, does_not], NOT_ASKED, 1.0, (200, 300))
    assert [d.label for d in split] == [5, 4, 7] and split[1].row_doubt and split[2].row_doubt
    both = read_again(digits, [blob], [sees_the_one, sees_the_one], NOT_ASKED, 1.0, (200, 300))
    assert [d.label for d in both] == [5, 4, 1, 7]


def test_a_reading_fewer_than_row_votes_row_readers_give_does_not_replace_the_digits():
    from tinycnn.read import ROW_VOTES, read_again
    digits, blob = _blob_read_as_47()
    sure_of_the_one = RowReaderSaying(saying(_columns(4, 1, 7), sureness=16.0))
    hardly = saying(_columns(4, BLANK, 7))
    hardly[6, 1] = hardly[6, BLANK] - 0.2  # these read "47", and find "417" hardly less likely

    def again(votes):
        readers = [sure_of_the_one] * votes + [RowReaderSaying(hardly)] * (ROW_VOTES + 2 - votes)
        return read_again(digits, [blob], readers, NOT_ASKED, 1.0, (200, 300))

    short = again(ROW_VOTES - 1)  # "417" leads by far, but one vote short
    assert [d.label for d in short] == [5, 4, 7] and short[1].row_doubt
    assert [d.label for d in again(ROW_VOTES)] == [5, 4, 1, 7]


def test_a_row_reading_of_fewer_digits_than_the_cut_needs_the_classifiers_word_for_them():
    from tinycnn.read import read_again
    digits, blob = _blob_read_as_47()
    one_digit = [10] * 22
    one_digit[6] = 5
    row_reader = RowReaderSaying(saying(one_digit, sureness=4.0))  # "5" likelier than "47" by 4.8 nats
    again = read_again(digits, [blob], [row_reader], ClassifierSaying(sure_of(5)), 1.0, (200, 300))
    assert [d.label for d in again] == [5, 5] and again[1].box[0] == 100 and again[1].box[2] == 60
    kept = read_again(digits, [blob], [row_reader], ClassifierSaying(sure_of(4)), 1.0, (200, 300))
    assert [d.label for d in kept] == [5, 4, 7] and kept[1].row_doubt and kept[2].row_doubt


def test_a_reading_of_fewer_digits_than_the_classifiers_needs_join_votes():
    from tinycnn.read import JOIN_VOTES, ROW_VOTES, read_again
    digits, blob = _blob_read_as_47()
    one_digit = [BLANK] * 22
    one_digit[6] = 5
    joins = RowReaderSaying(saying(one_digit, sureness=16.0))  # "5": far likelier than "47" to it

    def again(votes):
        readers = [joins] * votes + [RowReaderSaying(saying(_columns(4, 7)))] * 2
        return read_again(digits, [blob], readers, ClassifierSaying(sure_of(5)), 1.0, (200, 300))

    assert JOIN_VOTES > ROW_VOTES
    short = again(JOIN_VOTES - 1)  # enough votes to add or change digits, one short to join two into one
    assert [d.label for d in short] == [5, 4, 7] and short[1].row_doubt
    assert [d.label for d in again(JOIN_VOTES)] == [5, 5]


def test_a_reading_of_more_digits_is_weighed_by_the_row_readers_in_fine_columns_alone():
    from tinycnn.read import ROW_MARGIN, ROW_VOTES, read_again
    digits, blob = _blob_read_as_47()
    fine_columns = [BLANK] * 47
    fine_columns[3], fine_columns[13], fine_columns[23] = 4, 1, 7
    sees_the_one = saying(fine_columns)
    sees_the_one[13, 1] = sees_the_one[13, BLANK] + ROW_MARGIN + 1  # "417" likelier than "47" by about 3 nats
    hardly = saying(_columns(4, BLANK, 7))
    hardly[6, 1] = hardly[6, BLANK] - 4.0  # too coarse to place a 1 beside the 4: "417" far less likely
    fine = [FineRowReaderSaying(sees_the_one)] * ROW_VOTES
    coarse = [RowReaderSaying(hardly)] * 4

    def again(readers):
        return read_again(digits, [blob], readers, NOT_ASKED, 1.0, (200, 300))

    assert [d.label for d in again(fine + coarse)] == [5, 4, 1, 7]
    as_sure_in_coarse_columns = saying(_columns(4, 1, 7))
    as_sure_in_coarse_columns[6, 1] = as_sure_in_coarse_columns[6, BLANK] + ROW_MARGIN + 1
    kept = again([RowReaderSaying(as_sure_in_coarse_columns)] * ROW_VOTES + coarse)  # all seven weigh it
    assert [d.label for d in kept] == [5, 4, 7] and kept[1].row_doubt


def test_a_row_reader_too_short_to_say_the_classifiers_digits_does_not_judge_them():
    from tinycnn.read import read_again
    digits, blob = _blob_read_as_47()
    one_column = RowReaderSaying(saying([5]))  # it can say one digit, so "47" is impossible for it
    kept = read_again(digits, [blob], [one_column], ClassifierSaying(sure_of(5)), 1.0, (200, 300))
    assert [d.label for d in kept] == [5, 4, 7] and kept[1].row_doubt and kept[2].row_doubt


def test_a_lone_digit_is_replaced_only_by_several_digits_every_row_reader_gives_much_likelier():
    from tinycnn.read import LONE_MARGIN, ROW_MARGIN, read_again
    digits, blob = _blob_read_as_47()
    lone = [digits[0], replace(digits[1], box=(100, 10, 60, 80))]  # the blob read as one 4, a 1 swallowed

    def again(*readers):
        return read_again(lone, [blob], [RowReaderSaying(r) for r in readers], NOT_ASKED, 1.0, (200, 300))

    sees_two, sees_one = saying(_columns(4, 1)), saying(_columns(4))
    assert [d.label for d in again(sees_two, sees_two)] == [5, 4, 1]
    kept = again(sees_two, sees_two, sees_one)  # two of three: enough to replace two digits, not a lone one
    assert [d.label for d in kept] == [5, 4] and kept[1].row_doubt and not kept[0].row_doubt
    assert [d.label for d in again(saying(_columns(9)))] == [5, 4]  # one digit for another: never
    hardly = saying(_columns(4, BLANK))  # "41" likelier than "4", but by under LONE_MARGIN nats
    hardly[6, 1] = hardly[6, BLANK] + (ROW_MARGIN + LONE_MARGIN) / 2  # over ROW_MARGIN: enough for several
    assert [d.label for d in again(hardly)] == [5, 4] and again(hardly)[1].row_doubt


def test_a_lone_digit_the_first_row_reader_reads_as_one_digit_is_not_read_by_the_others():
    from tinycnn.read import read_again
    digits, blob = _blob_read_as_47()
    lone = [digits[0], replace(digits[1], box=(100, 10, 60, 80))]
    not_to_be_asked = [object()] * 3  # no input_shape, no forward: reading with one would fail

    def again(first, others=not_to_be_asked):
        return read_again(lone, [blob], [RowReaderSaying(first)] + others, NOT_ASKED, 1.0, (200, 300))

    assert again(saying(_columns(4))) == lone  # it agrees: no doubt from the others
    disagrees = again(saying(_columns(9)))
    assert [d.label for d in disagrees] == [5, 4] and disagrees[1].row_doubt
    sees_two = saying(_columns(4, 1))  # several digits: every row reader is asked, as they all must give them
    assert [d.label for d in again(sees_two, [RowReaderSaying(sees_two)] * 3)] == [5, 4, 1]
    kept = again(sees_two, [RowReaderSaying(sees_two)] * 2 + [RowReaderSaying(saying(_columns(4)))])
    assert [d.label for d in kept] == [5, 4] and kept[1].row_doubt


def test_the_shipped_row_readers_are_loaded_when_asked_for():
    shipped = read.ShippedRowReaders()
    assert len(shipped) == len(read.ROW_MODELS)
    assert [model.input_shape for model in shipped[1:]] == [
        read.shipped_model(name).input_shape for name in read.ROW_MODELS[1:]]
    assert shipped[0] is read.shipped_model(read.ROW_MODELS[0])


def test_a_digit_of_its_own_reaching_into_the_blobs_columns_is_not_the_blobs():
    from tinycnn.read import Digit, read_again
    digits, blob = _blob_read_as_47()
    slanted_one = Digit(1, 0.97, (88, 10, 26, 80), 0)  # its centre (x 101) lies over the blob's first column
    digits = [digits[0], slanted_one] + digits[1:]
    assert read_again(digits, [blob], [RowReaderSaying(saying(_columns(4, 7)))], NOT_ASKED, 1.0, (200, 300)) == digits


def test_the_boxes_picture_marks_in_red_what_the_reading_doubts(tmp_path):
    from tinycnn.read import CUT_DOUBT, Digit, Reading, draw_boxes

    image = tmp_path / "page.png"
    Image.new("L", (200, 80), 255).save(image)
    sure = Digit(1, 0.99, (20, 30, 20, 30), 0)
    close_cut = Digit(7, 0.99, (70, 30, 20, 30), 0, cut_margin=CUT_DOUBT / 2)
    reading = Reading(str(image), [sure, close_cut], slashes=[((140, 20, 20, 45), 0)])
    draw_boxes(image, reading, tmp_path / "boxes.png")
    with Image.open(tmp_path / "boxes.png") as drawn:
        pixels = np.asarray(drawn).astype(int)
    red, green = (220, 30, 30), (20, 160, 60)

    def colours_of_left_side(x, y, h):
        return {tuple(p) for p in pixels[y:y + h, x - 2]}

    assert green in colours_of_left_side(20, 30, 30) and red not in colours_of_left_side(20, 30, 30)
    assert red in colours_of_left_side(70, 30, 30)  # every digit sure, but cut where another cut read nearly as well
    assert red in colours_of_left_side(140, 20, 45)  # the stroke left out as "/"


def test_a_stroke_left_out_as_a_slash_makes_the_reading_uncertain(paper_model, tmp_path, capsys):
    gray, _ = render("10/7")
    path = tmp_path / "slash.png"
    Image.fromarray((gray * 255).astype(np.uint8)).save(path)
    reading = read_digits(path, model=paper_model, min_confidence=0.0)
    assert reading.text == "107" and reading.uncertain  # every digit sure: the slash alone makes it uncertain
    (box, line), = reading.slashes
    assert line == 0 and reading.digits[1].box[0] < box[0] < reading.digits[2].box[0]
    assert reading.to_dict()["slashes"] == [{"box": list(box), "line": 0}]
    gray, _ = render("107")
    assert not read_digits(gray, model=paper_model, min_confidence=0.0).slashes
    paper = str(read.resources.files("tinycnn") / "weights" / read.PAPER_MODEL)
    assert main([str(path), "--model", paper, "--min-confidence", "0", "--strict"]) == 3
    assert read.SLASH in capsys.readouterr().err


def test_blank_page_has_no_digits(paper_model):
    assert read_digits(Image.new("L", (200, 100), 255), model=paper_model).digits == []


# --- the command --------------------------------------------------------------

@pytest.fixture
def number_file(mnist_data, tmp_path):
    path = tmp_path / "n.png"
    number_image(pick_digits(mnist_data, "815")).save(path)
    return path


def test_command_prints_the_number(number_file, capsys):
    paper = str(read.resources.files("tinycnn") / "weights" / read.PAPER_MODEL)
    assert main([str(number_file), "--model", paper]) == 0
    assert capsys.readouterr().out == "815\n"
    seed1 = READER_SEED0.replace("reader_cnn.npz", "reader_cnn_seed1.npz")
    assert main([str(number_file), "--model", READER_SEED0, "--model", seed1, "--json"]) == 0  # the two averaged
    digits = json.loads(capsys.readouterr().out)["digits"]
    alone = [read_digits(number_file, read.load_model(path)).digits for path in (READER_SEED0, seed1)]
    assert [d["prob"] for d in digits] == pytest.approx([(a.prob + b.prob) / 2 for a, b in zip(*alone)], abs=2e-4)
    assert main([str(number_file), "--model", paper, "--model", seed1]) == 2  # 10 classes and 11: no average
    assert capsys.readouterr().err.startswith(f"error: {paper}, {seed1}: ")


def test_command_json_and_boxes(number_file, tmp_path, capsys):
    boxes = tmp_path / "boxes.png"
    assert main([str(number_file), "--json", "--boxes", str(boxes)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file"] == str(number_file) and len(data["digits"]) == 3
    with Image.open(boxes) as drawn:
        assert drawn.size == Image.open(number_file).size and drawn.mode == "RGB"


def test_command_with_several_files_keeps_going_after_a_bad_one(number_file, tmp_path, capsys):
    missing = tmp_path / "missing.png"
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a png")
    code = main([str(number_file), str(missing), str(garbage)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out.startswith(f"{number_file}: ") and out.count("\n") == 1
    errors = [line for line in err.splitlines() if "uncertain digit" not in line]  # a doubtful digit may be named too
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert "missing.png" in errors[0] and "garbage.png" in errors[1]


def test_command_exit_1_when_no_digits(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 60), 255).save(blank)
    assert main([str(blank)]) == 1
    assert "no digits found" in capsys.readouterr().err


def test_command_strict_exits_3_when_uncertain(number_file, capsys):
    assert main([str(number_file), "--strict", "--min-confidence", "1.0"]) == 3
    assert "uncertain digit" in capsys.readouterr().err


def test_command_bad_model_file(number_file, tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    assert main([str(number_file), "--model", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: ")


@pytest.mark.parametrize("bad", [["--min-confidence", "2"], ["--digits", "0"], ["--digits", "6-4"], ["--digits", "six"]])
def test_command_usage_errors_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["x.png", *bad])
    assert exit_info.value.code == 2
    assert bad[1] in capsys.readouterr().err


def test_command_digits_option(mnist_data, tmp_path, capsys):
    path = tmp_path / "8163.png"
    number_image(pick_digits(mnist_data, "8163"), gap=-24).save(path)
    assert main([str(path), "--model", READER_SEED0, "--digits", "4"]) == 0 and capsys.readouterr().out == "8163\n"
    assert main([str(path), "--model", READER_SEED0, "--digits", "3-4"]) == 0 and capsys.readouterr().out == "8163\n"


class StandardInput:
    """What sys.stdin is to the command: text on top of a binary buffer (here, `data`)."""

    def __init__(self, data):
        self.buffer = io.BytesIO(data)


def test_command_reads_standard_input(number_file, tmp_path, capsys, monkeypatch):
    assert main([str(number_file), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(sys, "stdin", StandardInput(number_file.read_bytes()))
    assert main(["-", "--json"]) == 0
    from_stdin = json.loads(capsys.readouterr().out)
    assert from_stdin["file"] == "<stdin>" and from_stdin["digits"] == from_file["digits"]
    monkeypatch.setattr(sys, "stdin", StandardInput(number_file.read_bytes()))
    assert main(["-", str(number_file), "--boxes", str(tmp_path / "drawn")]) == 0
    assert capsys.readouterr().out == f"<stdin>: 815\n{number_file}: 815\n"
    with Image.open(tmp_path / "drawn" / "stdin.boxes.png") as drawn:  # --boxes read standard input again
        assert drawn.size == Image.open(number_file).size


def test_command_names_bad_standard_input_and_reads_it_once(number_file, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", StandardInput(b"this is not a png"))
    assert main(["-", str(number_file)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{number_file}: 815\n" and err.startswith("error: <stdin>: not an image file")
    with pytest.raises(SystemExit) as exit_info:
        main(["-", "-"])
    assert exit_info.value.code == 2 and "only once" in capsys.readouterr().err


def test_module_runs_as_a_command_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinycnn.read", str(tmp_path / "nothere.png")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "nothere.png" in result.stderr


# --- the split scorer and big photos --------------------------------------------


class CountingModel:
    """Wraps a model and counts its predict calls."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def predict(self, x):
        self.calls += 1
        return self.model.predict(x)


def test_scorer_scores_every_piece_in_one_batch(paper_model):
    counting = CountingModel(paper_model)
    masks = [np.ones((30, 4), dtype=bool), np.eye(30, dtype=bool), np.zeros((5, 5), dtype=bool) | np.eye(5, dtype=bool)]
    scores = read.make_scorer(counting)(masks)
    assert counting.calls == 1
    assert scores.shape == (3,) and (scores <= 0).all()
    assert read.make_scorer(counting)([]).shape == (0,) and counting.calls == 1  # nothing to score, no call


class FixedModel:
    """Gives every input, in turn, the next row of `probs`."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float32)

    def predict(self, x):
        return self.probs[:len(x)]


def test_the_scorer_doubts_what_a_reading_model_calls_no_digit():
    masks = [np.eye(20, dtype=bool)] * 2
    sure_digit = [0.6] + [0.04] * 9 + [0.04]   # a 0 at 60%, hardly "not a digit"
    joined_pair = [0.65] + [0.0] * 9 + [0.35]  # a 0 at 65%, but 35% "not a digit": two digits run together?
    scores = read.make_scorer(FixedModel([sure_digit, joined_pair]))(masks)
    assert scores[0] > scores[1]  # though its best digit is likelier, the pair scores lower
    assert scores[1] == pytest.approx(np.log(0.65) + read.NOT_DIGIT_WEIGHT * np.log(0.65), rel=1e-5)
    ten_classes = read.make_scorer(FixedModel([[0.6] + [0.4 / 9] * 9]))(masks[:1])  # a model without the output
    assert ten_classes[0] == pytest.approx(np.log(0.6), rel=1e-5)


def test_a_fives_top_bar_drawn_apart_and_reaching_past_it_is_read_with_it():
    gray, boxes = render("B0")  # the bar shares too few columns with the body for merge_pieces
    reading = read_digits(gray)
    assert reading.text == "50"
    x, y, w, h = reading.digits[0].box
    assert abs(y - boxes[0][1]) <= 3 and x + w >= boxes[0][2] - 3  # the 5's box holds its bar


@pytest.mark.parametrize("kind", ["image", "jpeg", "sideways jpeg"])
def test_a_big_photo_is_read_shrunk_and_its_boxes_are_in_its_own_pixels(mnist_data, paper_model, tmp_path, kind):
    number = number_image(pick_digits(mnist_data, "4721"), height=300, gap=40)
    page = Image.new("L", (1800, 900), 255)  # 1.6 megapixels, digits 300 px tall
    page.paste(number, (200, 250))
    gray = read.imageio.load_grayscale(page)
    assert read.working_scale(gray.shape, lambda f: read.imageio.shrink(gray, f)) > 4  # digits ~WORK_DIGIT_HEIGHT px
    source = page if kind == "image" else tmp_path / "photo.jpg"  # a file is decoded no larger than needed
    if kind == "jpeg":
        page.save(source, quality=90)
    elif kind == "sideways jpeg":
        sideways_jpeg(source, page.rotate(90, expand=True))  # stored turned a quarter turn back
    reading = read_digits(source, model=paper_model)
    assert reading.text == "4721"
    for digit in reading.digits:
        x, y, w, h = digit.box
        assert 250 <= y and y + h <= 250 + number.height and 150 <= h <= 320
        assert 200 <= x and x + w <= 200 + number.width and w >= 30


def test_a_small_image_is_read_at_full_size():
    def never_shrunk(factor):
        raise AssertionError("a small image needs no preview")
    assert read.working_scale((600, 800), never_shrunk) == 1.0


def test_averaged_probabilities_are_probabilities_from_one_predict_call(paper_model):
    counting = CountingModel(paper_model)
    masks = [np.eye(30, dtype=bool), np.ones((30, 6), dtype=bool)]
    probs = read.averaged_probabilities(counting, masks)
    assert counting.calls == 1 and probs.shape == (2, 10)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)  # the paper model has no "not a digit" share


def test_a_slanted_line_is_also_read_upright_and_an_upright_one_is_not():
    from tinycnn.segment import Segment, Segmentation
    def stroke(lean):
        mask = np.zeros((40, 40), dtype=bool)
        for row in range(40):
            x = 20 + round(lean * (row - 20))
            mask[row, x - 2 : x + 2] = True
        return mask
    def found(lean):
        return Segmentation(np.zeros((1, 1), bool), [Segment((i * 50, 0, 40, 40), stroke(lean), 0, False) for i in range(3)], 40)
    assert read.upright_masks(found(-0.125)) is None  # leaning as MNIST's digits do
    upright = read.upright_masks(found(-0.7))  # a strongly slanted hand
    assert len(upright) == 3
    assert all(abs(read.normalize.slant(m) - read.normalize.MNIST_SLANT) < 0.05 for m in upright)


def test_reading_a_plain_number_does_not_import_scipy_spatial(tmp_path, mnist_data):
    # 80 ms of the command's start-up: only an image with a loop or frame round its digits needs a convex hull
    path = tmp_path / "4721.png"
    number_image(pick_digits(mnist_data, "4721")).save(path)
    script = ("import sys; from tinycnn.read import read_digits; "
              f"print(read_digits({str(path)!r}).text, 'scipy.spatial' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["4721", "False"]
