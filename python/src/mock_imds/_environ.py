"""The environment an SDK under test gets: the mock's endpoints in, every real
credential source out.

Out: every `AWS_*` variable (keys, `AWS_PROFILE`, `AWS_CONFIG_FILE`, the container
provider's `AWS_CONTAINER_CREDENTIALS_*`, web identity's `AWS_WEB_IDENTITY_TOKEN_FILE` and
`AWS_ROLE_ARN`, `AWS_EC2_METADATA_DISABLED`, `AWS_ENDPOINT_URL*` …), `BOTO_CONFIG`
(botocore's boto2 config provider), and `HOME` (so `~/.aws`, `~/.boto` and the SSO and
CLI caches are not found). In: the mock's variables, `AWS_REGION`, and loopback in
`NO_PROXY`."""

from __future__ import annotations

import tempfile
from typing import Dict, Mapping, Optional

#: Variables taken out besides those starting with `AWS_`: botocore's legacy boto2 config
#: file (botocore/credentials.py, `BotoProvider`).
EXTRA_UNSET = ("BOTO_CONFIG",)


def sanitised_environ(base: Mapping[str, str], home: str) -> Dict[str, str]:
    """`base` without any real credential source: no `AWS_*`, no `BOTO_CONFIG`, and
    `HOME` (and `USERPROFILE`) set to `home`, which should be an empty folder."""
    env = {k: v for k, v in base.items() if not k.upper().startswith("AWS_") and k not in EXTRA_UNSET}
    env["HOME"] = home
    if "USERPROFILE" in env:
        env["USERPROFILE"] = home
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in env.get(name, "").split(",") if h]
        env[name] = ",".join(hosts + [h for h in ("127.0.0.1", "localhost") if h not in hosts])
    return env


def sdk_environ(mock_env: Mapping[str, str], base: Mapping[str, str], home: Optional[str] = None) -> Dict[str, str]:
    """`sanitised_environ(base, home)` with the mock's variables set, and `AWS_REGION`
    as well as `AWS_DEFAULT_REGION` (the JS v3 SDK reads the former, botocore the
    latter), for a child process in any language; `home` defaults to a new empty
    temporary folder."""
    env = sanitised_environ(base, home or tempfile.mkdtemp(prefix="mock-imds-home-"))
    env.update(mock_env)
    if "AWS_DEFAULT_REGION" in env:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    return env
