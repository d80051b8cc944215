"""The pytest plugin (entry point `pytest11`): the `mock_imds` fixture (one mock per
test), `mock_imds_session` (one for the whole session, for speed), and the
`@pytest.mark.mock_imds(**settings)` marker for the instance's options.

Both fixtures set the environment for the SDK under test (see `mock_imds._environ`):
the mock's endpoints in, every real credential source out, `HOME` an empty folder. They
also drop boto3's default session (`boto3.DEFAULT_SESSION`), so no credentials cached by
an earlier test, nor an earlier mock's endpoints, carry over.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Iterator, Mapping

import pytest

from ._client import MockImds

#: The marker's name: `@pytest.mark.mock_imds(http_tokens="required")`.
MARKER = "mock_imds"


def pytest_configure(config: pytest.Config) -> None:
    """Registers the `mock_imds` marker."""
    config.addinivalue_line(
        "markers",
        "mock_imds(**settings): the mock_imds fixture's MockImds arguments: instance options "
        "(http_tokens='required', http_endpoint='disabled', role_name=..., credential_lifetime='15m', "
        "identity={...}), state='refuse', seed=N",
    )


def _marker_settings(request: pytest.FixtureRequest) -> Dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} takes keyword arguments only (http_tokens='required', ...), "
            f"not {marker.args!r}"
        )
    return dict(marker.kwargs)


def _apply(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> None:
    """Makes `os.environ` equal to `env` through `monkeypatch` (undone after the test)."""
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture
def mock_imds(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MockImds]:
    """A `MockImds` of its own for this test, started with the marker's settings, and the
    environment pointing the SDKs at it; stopped and reaped after the test, failed or
    not. A mock that cannot start fails the test's setup with the reason (binary, port,
    setting) instead of hanging (at most 30 s)."""
    home = tmp_path_factory.mktemp("mock-imds-home")
    with MockImds(**_marker_settings(request)) as mock:
        _apply(monkeypatch, mock.sdk_environ(home=str(home)))
        yield mock


@pytest.fixture(scope="session")
def mock_imds_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockImds]:
    """One `MockImds` for the whole session (default settings; the marker does not apply),
    and the environment pointing the SDKs at it for the session. Its state carries over
    from test to test: call `reset()` where that matters."""
    home = tmp_path_factory.mktemp("mock-imds-home")
    with MockImds() as mock, pytest.MonkeyPatch.context() as monkeypatch:
        _apply(monkeypatch, mock.sdk_environ(home=str(home)))
        yield mock
