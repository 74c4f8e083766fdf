"""The reader on a small seeded evaluation set (scripts/make_digit_strings.py + scripts/eval_reader.py).

Issue 3's targets are 93% whole-number and 98.5% digit accuracy, and no condition below 85%; the reader
meets the first two on the 1,000-image set but not the third (see the README's evaluation table). These
floors sit just below what it measures today, so that a change that makes reading worse, or lets a wrong
number through without a flag, fails here."""

import json

from script_loader import load_script

NUMBER_FLOOR, DIGIT_FLOOR = 0.92, 0.98  # it measures 94.9% and 99.1% on these 98 images
RIGHT_FLAGGED_CEILING = 0.25  # of the right numbers flagged uncertain: 20 of 93 (22%)


def test_reader_accuracy_on_a_seeded_set(mnist_dir, tmp_path, capsys):
    folder, report = tmp_path / "strings", tmp_path / "report.json"
    load_script("make_digit_strings").main(["--out", str(folder), "--count", "98", "--seed", "3",
                                            "--data-dir", str(mnist_dir)])
    load_script("eval_reader").main([str(folder), "--json", str(report)])
    overall = json.loads(report.read_text())["summary"]["overall"]
    print(capsys.readouterr().out)
    assert overall["images"] == 98 and overall["errors"] == 0
    assert overall["number_acc"] >= NUMBER_FLOOR
    assert overall["digit_acc"] >= DIGIT_FLOOR
    # nothing wrong slips through unflagged here (one did, a touching number cut wrong, before close cuts were
    # flagged), and flagging does not flood the review
    assert overall["wrong_flagged"] == overall["wrong_numbers"]
    assert overall["right_flagged"] <= RIGHT_FLAGGED_CEILING * overall["right_numbers"]
