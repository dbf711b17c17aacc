"""tests/preloaded.py runs code as ``python -c`` runs it, though its modules are imported already."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.preloaded import Preloaded

pytestmark = pytest.mark.nodb


@pytest.fixture(scope="module")
def python() -> Iterator[Preloaded]:
    with Preloaded(["json", "email.mime.text"]) as preloaded:
        yield preloaded


def test_fresh_globals_arguments_and_directory(python: Preloaded, tmp_path: Path) -> None:
    code = "import os, sys; print(__name__, sys.argv, os.getcwd()); open('out.txt', 'w').write('x')"
    result = python.run(code, "a", "b c", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"__main__ ['-c', 'a', 'b c'] {tmp_path}\n"
    assert (tmp_path / "out.txt").read_text() == "x"
    # what one run defines, the next does not see
    assert python.run("x = 1").returncode == 0
    assert "NameError" in python.run("print(x)").stderr


def test_a_missing_import_fails(python: Preloaded) -> None:
    """A preloaded module is not a name of the code's globals until the code imports it."""
    result = python.run("print(json.dumps(1))")
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>")
    assert "NameError: name 'json' is not defined" in result.stderr
    assert python.run("import json; print(json.dumps([1]))").stdout == "[1]\n"


@pytest.mark.parametrize(("code", "returncode", "stderr"), [
    ("import sys; sys.exit()", 0, ""),
    ("import sys; sys.exit(3)", 3, ""),
    ("import sys; sys.exit('bye')", 1, "bye\n"),
    ("import atexit, sys; atexit.register(lambda: print('at exit', file=sys.stderr))", 0, "at exit\n"),
])
def test_exit_status(python: Preloaded, code: str, returncode: int, stderr: str) -> None:
    result = python.run(code)
    assert (result.returncode, result.stderr) == (returncode, stderr)
