"""What a fresh process imports to start: each entry point leaves out the heavy libraries it does not need
(every ``tapserver`` command, server and worker is a new Python process, and importing astropy or building
vo-models' XML models costs a fraction of a second of CPU each time).

Each row runs its entry in a new interpreter and lists the top-level packages then loaded; the libraries are
imported where they are used (a cutout, a UWS document, a sky map, a result format), which the tests of those
features exercise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parents[1]

#: Loaded by none of the entries below.
NEVER = frozenset({"astropy", "pyarrow", "mocpy", "cdshealpix", "vo_models", "pydantic_xml", "gammapy", "pandas"})

HELP = """
import contextlib, io
from tapserver import cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli.main(["--help"])
"""

# (entry, code run by a fresh interpreter, packages it must not load besides NEVER)
ENTRIES = [
    # `tapserver --help`, and the parser every command builds first (ingest, token and prov arguments included)
    ("tapserver --help", HELP,
     {"sqlglot", "numpy", "sqlalchemy", "psycopg", "fastapi", "starlette", "uvicorn", "alembic", "lxml", "prov",
      "jwt", "httpx"}),
    ("tapserver db upgrade", "import tapserver.cli, tapserver.migrate",
     {"sqlglot", "numpy", "fastapi", "starlette", "uvicorn", "lxml", "prov", "jwt"}),
    ("tapserver worker", "import tapserver.cli, tapserver.factory, tapserver.observability, tapserver.uws.worker",
     {"fastapi", "uvicorn", "jwt", "prov"}),
    # (without an OIDC issuer: no PyJWT, cryptography or httpx; prov: PROV-N and PROV-XML answers, imports)
    ("tapserver serve (the application, built)",
     "import tapserver.cli, tapserver.factory, uvicorn, tapserver.app; tapserver.app.create_app()",
     {"jwt", "cryptography", "httpx", "prov"}),
]


def loaded_packages(code: str) -> set[str]:
    """The top-level packages loaded after ``code`` ran in a new interpreter with this checkout first."""
    report = "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    # the default settings (no OIDC issuer, ...) with the database URL of the test (unreachable: nodb)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env.update(TAPSERVER_DATABASE_URL=os.environ["TAPSERVER_DATABASE_URL"],
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize(("entry", "code", "forbidden"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_an_entry_point_imports_only_what_it_needs(entry: str, code: str, forbidden: set[str]) -> None:
    loaded = loaded_packages(code)
    assert "tapserver" in loaded
    assert sorted(loaded & (NEVER | forbidden)) == [], f"{entry} imports them at start"


def test_the_check_sees_a_heavy_import() -> None:
    """The listing is that of the child process: a module that imports astropy shows it."""
    assert {"tapserver", "astropy"} <= loaded_packages("import tapserver.soda.eventfile")
