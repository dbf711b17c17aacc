"""Log injection: control characters from requests are escaped in every log line, text and JSON alike."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tapserver import observability
from tapserver.app import create_app
from tapserver.config import Settings

RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ tapserver")
HOSTILE = "x\nFORGED2 user=admin\r\x00\x1b[31m\x85\u2028end"


@pytest.fixture(scope="module")
def client(migrated_settings: Settings) -> Iterator[TestClient]:
    settings = migrated_settings.model_copy(update={"workers": 0})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(params=["text", "json"])
def log_output(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO]]:
    stream = io.StringIO()
    observability.configure_logging(request.param, stream=stream)
    try:
        yield request.param, stream
    finally:
        observability.configure_logging("text")


def assert_no_forged_line(log_format: str, output: str) -> str:
    """Check every line; return what the lines say (JSON: the messages and exceptions, decoded)."""
    assert output
    assert "\x00" not in output and "\x1b" not in output and "\r" not in output and "\u2028" not in output
    assert "\x85" not in output
    for line in output.splitlines():
        assert not line.startswith("FORGED"), output
        if log_format == "json":
            json.loads(line)
        else:
            assert RECORD_START.match(line) or line.startswith(("Traceback", "    ")), line
    if log_format == "text":
        return output
    entries = [json.loads(line) for line in output.splitlines()]
    return "\n".join(f"{e['message']} {e.get('exception', '')}" for e in entries)


def test_requests_cannot_forge_access_log_lines(client: TestClient, log_output: tuple[str, io.StringIO]) -> None:
    log_format, stream = log_output
    for path in ("/files/x%0aFORGED2%20user=admin", "/files/%00%0d%0aFORGED3", "/nope/x%0aFORGED4%0a"):
        client.get(path)
    said = assert_no_forged_line(log_format, stream.getvalue())
    assert "/files/x\\nFORGED2 user=admin" in said  # escaped, not dropped


@pytest.mark.parametrize("logger", ["tapserver.audit", "tapserver.access", "tapserver.query", "tapserver.datalink"])
def test_every_tapserver_logger_escapes(logger: str, log_output: tuple[str, io.StringIO]) -> None:
    log_format, stream = log_output
    logging.getLogger(logger).info("event path=%s", HOSTILE, extra={"path": HOSTILE})
    logging.getLogger(logger).warning(HOSTILE)
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        logging.getLogger(logger).exception("failed on %s", HOSTILE)
    said = assert_no_forged_line(log_format, stream.getvalue())
    assert said.count("x\\nFORGED2 user=admin\\r\\x00\\x1b[31m\\x85\\u2028end") >= 3  # message, argument, extra


def test_uvicorn_lines_are_escaped(log_output: tuple[str, io.StringIO]) -> None:
    log_format, _ = log_output
    stream = io.StringIO()
    access = logging.getLogger("uvicorn.access")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        observability.configure_logging(log_format, stream=io.StringIO())
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/x\nFORGED", "1.1", 404)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    output = stream.getvalue()
    assert output.count("\n") == 1, output
    message = json.loads(output)["message"] if log_format == "json" else output
    assert "/x\\nFORGED" in message
