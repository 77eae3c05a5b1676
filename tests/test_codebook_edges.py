"""Edge cases of codebook edits found in an audit: bad ids and unreadable files are
reported as clear errors (exit 2, nothing written), never as tracebacks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.codebook import edits
from themecoder.codebook.model import Code, problem_from_error
from themecoder.codebook.validate import load_codebook
from themecoder.errors import InvalidInput
from themecoder.services import codebook as svc

runner = CliRunner()


@pytest.fixture
def book_file(tmp_path: Path) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(load_codebook().to_yaml(), encoding="utf-8")
    return path


def invoke(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, " ".join(result.output.split())


@pytest.mark.parametrize("bad", ["has space", "定价", "Upper", "1st", ""])
def test_add_with_an_invalid_id_is_a_clear_error(book_file, bad):
    before = book_file.read_bytes()
    with pytest.raises(InvalidInput, match="not a valid id"):
        svc.add(book_file, bad, "A definition.", owner="CS")
    result, output = invoke(
        "codebook", "add", book_file, bad, "--definition", "x", "--owner", "CS", "--no-store"
    )
    assert result.exit_code == 2 and "not a valid id" in output, output
    assert book_file.read_bytes() == before


@pytest.mark.parametrize("bad", ["", "has space", "Ünï"])
def test_split_into_an_invalid_id_is_a_clear_error(book_file, bad):
    before = book_file.read_bytes()
    with pytest.raises(InvalidInput, match="not a valid id"):
        edits.split_code(load_codebook(book_file), "pricing_perception", [(bad, "A"), ("b", "B")])
    result, output = invoke(
        "codebook",
        "split",
        book_file,
        "pricing_perception",
        "--into",
        f"{bad}=A",
        "--into",
        "price_b=B",
        "--no-store",
    )
    assert result.exit_code == 2 and "not a valid id" in output, output
    assert book_file.read_bytes() == before


def test_a_codebook_that_is_not_utf8_is_a_clear_error(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\nversion: 1\ncodes: []\n".encode("latin-1"))
    result, output = invoke("codebook", "validate", bad)
    assert result.exit_code == 2 and "UTF-8" in output, output
    result, output = invoke("codebook", "add", bad, "x_code", "--definition", "x", "--no-store")
    assert result.exit_code == 2 and "UTF-8" in output, output


def test_validation_errors_become_problems_through_a_public_function():
    with pytest.raises(ValidationError) as exc:
        Code(id="Upper", name="U", definition="d", colour="red")
    problems = [problem_from_error(err) for err in exc.value.errors()]
    assert [(p.path, p.line) for p in problems] == [("id", None), ("colour", None)]
    assert "'Upper' is not a valid id" in problems[0].message
    assert problems[1].message == "unknown field 'colour'"
    assert problem_from_error.__doc__


def test_codebook_modules_import_no_private_names_of_each_other():
    package = Path(edits.__file__).parent
    private = [
        f"{path.name}: {node.module}.{alias.name}"
        for path in sorted(package.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("themecoder")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def test_codebook_commands_name_the_file_or_folder_they_were_given(tmp_path) -> None:
    """`codebook validate DIR` said "codebook file not found"; `codebook add` on a bad file
    said "codebook has N problem(s)" without naming the file."""
    from typer.testing import CliRunner

    from themecoder.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\ncodes:\n  - id: Bad Id\n", encoding="utf-8")
    runner = CliRunner()
    folder = runner.invoke(app, ["codebook", "validate", str(tmp_path)])
    assert folder.exit_code == 2
    assert "is a folder, not a codebook file" in " ".join(folder.output.split())
    added = runner.invoke(app, ["codebook", "add", str(bad), "new_code", "--definition", "x"])
    assert added.exit_code == 2 and f"{bad} has 3 problem(s)" in "".join(added.output.split("\n"))
