"""eval/compare_encoders.py: a trained model named with --model must be there."""

from __future__ import annotations

import pytest

from eval_scripts import load


def test_a_model_folder_without_a_trained_model_is_refused_before_any_scoring(tmp_path, capsys):
    script = load("compare_encoders")
    with pytest.raises(SystemExit):
        script.main(["--no-frozen", "--model", f"empty={tmp_path}"])
    assert "--model wants NAME=DIR with a trained model in DIR" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main(["--no-frozen", "--model", "no-folder"])
    # Refused before the frozen reference is trained (minutes), not after it.
    script.frozen_baseline = lambda s: pytest.fail("trained before the arguments were checked")
    with pytest.raises(SystemExit):
        script.main(["--model", f"empty={tmp_path}"])
