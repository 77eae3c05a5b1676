"""The command line on a bad setup: settings that do not validate, a missing or broken model
folder, malformed training data, an artifact folder that cannot be written, unknown eval
sources. Each is a one-line error with exit 2, before any long work, never a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.config import Settings, get_settings

runner = CliRunner()
SHIPPED = Settings().model_dir


def invoke(*args: object) -> tuple[Result, str]:
    """Run the CLI; its output on one line (rich wraps long messages at the console width)."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output,
        result.exc_info,
    )
    return result, " ".join(result.output.split())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Set THEMECODER_* variables for one test; the cached settings are read again."""
    monkeypatch.setenv("THEMECODER_DB_URL", f"sqlite:///{tmp_path / 'edges.db'}")
    monkeypatch.setenv("THEMECODER_RESULTS_DIR", str(tmp_path / "results"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def squeezed(text: str) -> str:
    """``text`` without whitespace: rich breaks a long path where the line is full."""
    return "".join(text.split())


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training or evaluating means the settings were not checked: fail instead of running."""
    from themecoder.services import coding, evaluation, training

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command ran on settings that do not validate")

    for module, name in ((training, "train_coder"), (evaluation, "run_evaluation")):
        monkeypatch.setattr(module, name, never)
    monkeypatch.setattr(coding, "code_path", never)


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("THEMECODER_BATCH_SIZE", "abc", "THEMECODER_BATCH_SIZE='abc': Input should be a valid"),
        ("THEMECODER_PORT", "0", "THEMECODER_PORT='0': Input should be greater than"),
        ("THEMECODER_ENCODER_RUNTIME", "tf", "THEMECODER_ENCODER_RUNTIME='tf': Input should be"),
        ("THEMECODER_DB_URL", "nonsense", "THEMECODER_DB_URL: not a database URL"),
        ("THEMECODER_SESSION_SECRET", "hunter2", "THEMECODER_SESSION_SECRET: Value should"),
        ("THEMECODER_PII_ALLOW", "Acme", "THEMECODER_PII_ALLOW is not valid JSON"),
    ],
)
@pytest.mark.parametrize("command", [("info",), ("code", "x.csv"), ("train",), ("eval",)])
def test_a_bad_setting_is_named_with_exit_2_not_a_traceback(
    env, nothing_runs, name, value, shown, command
):
    env.setenv(name, value)

    result, output = invoke(*command)

    assert result.exit_code == 2, output
    assert f"error (invalid_setting): {shown}" in output
    assert "Traceback" not in output
    if name in ("THEMECODER_DB_URL", "THEMECODER_SESSION_SECRET"):  # may hold a password
        assert value not in output


def test_a_bad_db_option_is_refused(env, tmp_path, nothing_runs):
    (tmp_path / "t.csv").write_text("id,text\n1,Too dear.\n", encoding="utf-8")

    result, output = invoke("code", tmp_path / "t.csv", "--db", "nonsense")

    assert result.exit_code == 2 and "--db: not a database URL" in output


# -- the model folder ----------------------------------------------------------------------


def _broken_model(tmp_path: Path, how: str) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "arrays.safetensors", "examples.jsonl"):
        shutil.copy(SHIPPED / name, model / name)
    if how == "no examples":
        (model / "examples.jsonl").unlink()
    elif how == "bad config":
        (model / "config.json").write_text('{"version": ', encoding="utf-8")
    elif how == "bad arrays":
        (model / "arrays.safetensors").write_bytes(b"junk")
    return model


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("no examples", "is incomplete: no examples.jsonl"),
        ("bad config", "is unreadable: Expecting value"),
        ("bad arrays", "is unreadable"),
    ],
)
def test_info_on_a_broken_model_folder_is_a_clean_error(env, tmp_path, how, message):
    env.setenv("THEMECODER_MODEL_DIR", str(_broken_model(tmp_path, how)))

    result, output = invoke("info")

    assert result.exit_code == 2, output
    expected = f"error (model_unavailable): coder model in {tmp_path / 'model'} {message}"
    assert squeezed(expected) in squeezed(output)


def test_eval_on_a_model_folder_without_its_examples_is_a_clean_error(env, tmp_path):
    model = _broken_model(tmp_path, "no examples")

    result, output = invoke("eval", "--model-dir", model, "--source", "own", "--limit", "3")

    assert result.exit_code == 2 and "is incomplete: no examples.jsonl" in output, output


def test_a_missing_model_folder_is_a_configuration_error_exit_2(env, tmp_path):
    env.setenv("THEMECODER_MODEL_DIR", str(tmp_path / "nope"))

    result, output = invoke("info")

    assert result.exit_code == 2
    assert squeezed(f"no coder model in {tmp_path / 'nope'}") in squeezed(output)
    assert "--model-dir" in output


# -- train ---------------------------------------------------------------------------------


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the encoder means the checks came too late: fail the test instead."""
    from themecoder.services import training

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoder was loaded before the input was checked")

    monkeypatch.setattr(training, "make_embedder", never)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "cut off', "not valid JSON"),
        (
            '{"text": "Too dear.", "buckets": {"pricing": "risk"}, "sentiment": "negative", '
            '"expression": "frustration"}',
            "unknown bucket 'pricing'",
        ),
        (
            '{"text": "Too dear.", "buckets": {"pricing_perception": "bad"}, '
            '"sentiment": "negative", "expression": "frustration"}',
            "pricing_perception: unknown polarity 'bad'",
        ),
    ],
)
def test_train_on_a_malformed_training_file_names_the_line(
    env, tmp_path, no_training, line, problem
):
    """A bad JSON line or polarity was a traceback after the embedding (after the encoder's
    fine-tuning in a full build); a misspelt bucket trained silently as that bucket absent."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "units.jsonl").write_text(line + "\n", encoding="utf-8")
    env.setenv("THEMECODER_TRAINING_DIR", str(data))

    result, output = invoke("train", "--out-dir", tmp_path / "coder", "--no-evaluate")

    assert result.exit_code == 2, output
    assert squeezed(f"{data / 'units.jsonl'}:1: {problem}") in squeezed(output)
    assert not (tmp_path / "coder").exists()


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_train_without_training_files_names_the_setting(env, tmp_path, no_training, folder):
    (tmp_path / "empty").mkdir()
    env.setenv("THEMECODER_TRAINING_DIR", str(tmp_path / folder))

    result, output = invoke("train", "--out-dir", tmp_path / "coder", "--no-evaluate")

    assert result.exit_code == 2 and "THEMECODER_TRAINING_DIR" in output, output


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch, no_training: None) -> None:
    """Reading the training data means the artifact folder was checked too late."""
    from themecoder.services import training

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was read before the artifact folder was checked")

    monkeypatch.setattr(training, "training_examples", never)


@pytest.mark.parametrize("out", ["a-file", "a-file/coder"])
def test_train_into_a_file_is_refused_before_training(env, tmp_path, no_data, out):
    """The artifact folder used to be created after the whole training: a FileExistsError
    traceback and the build lost."""
    (tmp_path / "a-file").write_text("", encoding="utf-8")

    result, output = invoke("train", "--out-dir", tmp_path / out, "--no-evaluate")

    assert result.exit_code == 2, output
    assert squeezed(f"artifact folder {tmp_path / out}") in squeezed(output) and "file" in output


def test_train_into_a_read_only_folder_is_refused(env, tmp_path, monkeypatch, no_data):
    import os

    real = os.access  # the suite may run as root, which writes anywhere: os.access answers no
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real(p, mode))

    result, output = invoke("train", "--out-dir", tmp_path / "coder", "--no-evaluate")

    assert result.exit_code == 2, output
    assert squeezed(f"{tmp_path} is read-only") in squeezed(output)


def test_train_with_unknown_extra_data_fails_before_the_encoder_loads(env, tmp_path, no_training):
    result, output = invoke(
        "train", "--out-dir", tmp_path / "coder", "--no-evaluate", "--extra-data", "nope"
    )

    assert result.exit_code == 2 and "unknown --extra-data ['nope']" in output, output


# -- eval ----------------------------------------------------------------------------------


def test_eval_with_an_unknown_source_lists_the_known_ones(env):
    result, output = invoke("eval", "--source", "nope")

    assert result.exit_code == 2 and "unknown source 'nope'; known: own, banking77" in output


def test_eval_without_the_shared_datasets_names_the_setting(env, tmp_path):
    env.setenv("THEMECODER_DATASETS_DIR", str(tmp_path))

    result, output = invoke("eval", "--source", "airline", "--limit", "3")

    assert result.exit_code == 2, output
    assert "twitter_airline_sentiment" in squeezed(output) and "THEMECODER_DATASETS_DIR" in output
    assert not (tmp_path / "results").exists()


# -- codebook ------------------------------------------------------------------------------


@pytest.mark.parametrize(("out", "message"), [(".", "is a folder"), ("f/x.qdc", "is a file")])
def test_codebook_export_to_a_folder_or_under_a_file_is_a_clean_error(tmp_path, out, message):
    (tmp_path / "f").write_text("", encoding="utf-8")

    result, output = invoke("codebook", "export", "--out", tmp_path / out)

    assert result.exit_code == 2 and message in output, output


def test_info_still_shows_settings_and_model(env):
    result, output = invoke("info")

    assert result.exit_code == 0, output
    assert json.loads(result.output)["model"]["version"].startswith("coder-")


# -- where the evaluation of a scratch model goes --------------------------------------------


@pytest.fixture
def evaluated(env, monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings each evaluation would run with (it does not run)."""
    from themecoder import cli
    from themecoder.services import training

    seen: list[Settings] = []
    monkeypatch.setattr(cli, "_evaluate", lambda s, model_dir, *args: seen.append(s))
    monkeypatch.setattr(
        training,
        "train_coder",
        lambda s, out, **kw: training.TrainResult(
            Path(out), "0" * 64, "coder-test", {"examples": 1}, []
        ),
    )
    env.delenv("THEMECODER_RESULTS_DIR")
    get_settings.cache_clear()
    return seen


def test_a_scratch_model_is_evaluated_into_its_own_folder_not_the_published_results(
    evaluated, tmp_path
):
    """`themecoder train --out-dir /tmp/coder` (its help's example) evaluated the scratch
    model into eval/results, replacing the shipped model's published eval.md and eval.json."""
    published = Settings().results_dir

    result, output = invoke("train", "--out-dir", tmp_path / "coder")
    assert result.exit_code == 0, output
    result, output = invoke("eval", "--model-dir", tmp_path / "other", "--source", "own")
    assert result.exit_code == 0, output
    result, output = invoke("eval", "--source", "own")  # the shipped model: published results
    assert result.exit_code == 0, output

    assert [s.results_dir for s in evaluated] == [
        tmp_path / "coder" / "eval",
        tmp_path / "other" / "eval",
        published,
    ]


def test_a_results_folder_that_is_set_is_kept_for_any_model(evaluated, env, tmp_path):
    env.setenv("THEMECODER_RESULTS_DIR", str(tmp_path / "mine"))
    get_settings.cache_clear()

    result, output = invoke("eval", "--model-dir", tmp_path / "other")

    assert result.exit_code == 0, output
    assert [s.results_dir for s in evaluated] == [tmp_path / "mine"]


def test_ctrl_c_ends_a_command_with_one_line_and_exit_130(capsys) -> None:
    """Ctrl-C during `train` or `eval` printed a full traceback."""
    import typer

    from themecoder.cli_support import errors

    with pytest.raises(typer.Exit) as info, errors():
        raise KeyboardInterrupt
    assert info.value.exit_code == 130
    assert "interrupted" in capsys.readouterr().err
