"""The values the control API and `serve --config` exchange, in Python terms: schedule
steps and their durations, clock jumps, RFC 3339 times, the config file (TOML), and
which events are credential fetches."""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Tuple, Union

#: One schedule step: `(at, change)` or `{"at": …, "state": …}`; `at` is a duration
#: string (`"500ms"`, `"2s"`), or seconds as a number, or a `timedelta`.
Step = Union[Tuple[Union[str, float, _dt.timedelta], str], Mapping[str, Any]]

@dataclass(frozen=True)
class Clock:
    """The mock's clock (`GET /clock`, `POST /clock`).

    Attributes:
        now: the mock's time (UTC), which the credentials' `Expiration` is reckoned on.
        offset_ms: how far the mock's clock is ahead of the real one, in milliseconds
            (negative: behind).
    """

    now: _dt.datetime
    offset_ms: int


@dataclass(frozen=True)
class Rotation:
    """The credentials a `POST /rotate` issued.

    Attributes:
        access_key_id: the new access key id (`ASIAMOCK…`).
        expiration: when they expire (UTC), on the mock's clock.
    """

    access_key_id: str
    expiration: _dt.datetime


def rfc3339(text: str) -> _dt.datetime:
    """An RFC 3339 time (`Z` or an offset; any number of fraction digits) as an aware
    datetime (Python before 3.11 takes neither `Z` nor more than 6 digits)."""
    text = text.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return _dt.datetime.fromisoformat(text)


def duration_text(at: Union[str, float, int, _dt.timedelta]) -> str:
    """A schedule time as the control API takes it (`"1500ms"`)."""
    if isinstance(at, str):
        return at
    if isinstance(at, _dt.timedelta):
        at = at.total_seconds()
    if at < 0:
        raise ValueError(f"a schedule step cannot be at a negative time: {at} s")
    return f"{round(at * 1000)}ms"


def signed_duration_text(by: Union[str, float, int, _dt.timedelta]) -> str:
    """A clock jump as `POST /clock` takes it: `"+5h52m"`, `"-30s"`, `"+1500ms"`."""
    if isinstance(by, str):
        return by
    if isinstance(by, _dt.timedelta):
        by = by.total_seconds()
    ms = round(by * 1000)
    return f"{'-' if ms < 0 else '+'}{abs(ms)}ms"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string (the same escapes).
        return json.dumps(value)
    if isinstance(value, _dt.timedelta):
        return json.dumps(f"{round(value.total_seconds() * 1000)}ms")
    raise TypeError(f"a mock-imds setting must be a str, int, bool or timedelta, not {value!r}")


def config_toml(settings: Mapping[str, Any]) -> str:
    """The instance settings as a `mock-imds serve --config` file; tables (such as
    `identity`) last, as TOML wants."""
    lines = [f"{key} = {_toml_value(v)}" for key, v in settings.items() if not isinstance(v, Mapping)]
    for key, table in settings.items():
        if isinstance(table, Mapping):
            lines.append(f"[{key}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def is_credential_fetch(event: Mapping[str, Any]) -> bool:
    """True for an `imds-request` event that served a role credentials document (200),
    as `Event::is_credential_fetch` in mock-imds/src/events/kinds.rs."""
    if event.get("type") != "imds-request" or event.get("status") != 200:
        return False
    path = str(event.get("path", ""))
    at = path.find("/meta-data/iam/")
    return at >= 0 and path[at + len("/meta-data/iam/") :].startswith("security-credentials") and not path.endswith("/")
