"""Issue 21 item 12: an endpoint that is not DynamoDB gives one line naming the endpoint and what
answered, through the registry API and the CLI (real HTTP servers on 127.0.0.1, no mock)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from typer.testing import CliRunner

from airflow_provider_pipeline_registry.cli.app import app
from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode, exit_code_for
from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
from airflow_provider_pipeline_registry.registry.errors import ConfigurationError, EndpointNotDynamoDBError

NGINX_404 = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n"
    b"<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
    + b"<!-- a padding to disable MSIE's page -->\r\n"
    * 6
)
WELCOME = b"<!DOCTYPE html><html><body><h1>Welcome to the intranet</h1>\n<p>Nothing\n to see   here.</p></body></html>"


class Answer(NamedTuple):
    status: int
    content_type: str | None
    body: bytes


#: what each stand-in answers, and the one line the registry must report
CASES: dict[str, tuple[Answer, str]] = {
    "empty-404": (Answer(404, None, b""), "HTTP 404 Not Found (no content type, empty body)"),
    "html-404": (Answer(404, "text/html", NGINX_404), "HTTP 404 Not Found (text/html: 404 Not Found)"),
    "html-200": (
        Answer(200, "text/html; charset=utf-8", WELCOME),
        "HTTP 200 OK (text/html: Welcome to the intranet Nothing to see here.)",
    ),
    "text-200": (Answer(200, "text/plain", b"OK\n"), "HTTP 200 OK (text/plain: OK)"),
    "json-403": (
        Answer(403, "application/json", b'{"message":"Forbidden"}'),
        'HTTP 403 Forbidden (application/json: {"message":"Forbidden"})',
    ),
}


def _serve(answer: Answer) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(answer.status)
            if answer.content_type:
                self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(params=sorted(CASES))
def foreign(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(endpoint URL, the expected description of the answer) for one stand-in server."""
    answer, expected = CASES[request.param]
    server, url = _serve(answer)
    yield url, expected
    server.shutdown()
    server.server_close()


def test_the_registry_api_names_the_endpoint_and_what_answered(foreign: tuple[str, str]) -> None:
    url, expected = foreign
    registry = Registry(DynamoDBConfig(endpoint_url=url, max_attempts=1))
    with pytest.raises(EndpointNotDynamoDBError) as raised:
        registry.pipelines.find_by_id("sales_daily")  # a 200 that is not JSON must not read as "not found"
    error = raised.value
    assert error.message == f"the endpoint {url} did not answer as DynamoDB: {expected}"
    assert "\n" not in str(error)
    assert error.endpoint == url
    assert isinstance(error, ConfigurationError)  # not retried; the sensor fails at once on it
    assert exit_code_for(error) == ExitCode.USAGE
    with pytest.raises(EndpointNotDynamoDBError):
        registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})


def test_the_cli_prints_one_error_line(foreign: tuple[str, str]) -> None:
    url, expected = foreign
    env = {"DYNAMODB_MAX_ATTEMPTS": "1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = CliRunner().invoke(app, ["--endpoint-url", url, "pipelines", "show", "sales_daily"], env=env)
    assert result.exit_code == ExitCode.USAGE, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: the endpoint {url} did not answer as DynamoDB: {expected}")
    assert "Traceback" not in result.output
