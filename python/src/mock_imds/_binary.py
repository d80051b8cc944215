"""Where the `mock-imds` binary is: `$MOCK_IMDS_BIN`, else the one this wheel installed
next to the interpreter's scripts, else the first on `PATH`."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from typing import Optional

#: The environment variable naming the binary to run (a path), ahead of any other.
BIN_ENV = "MOCK_IMDS_BIN"

_NAME = "mock-imds.exe" if sys.platform == "win32" else "mock-imds"


def find_binary(explicit: Optional[str] = None) -> str:
    """The path of the `mock-imds` binary to run.

    Looked for in this order: `explicit`, `$MOCK_IMDS_BIN`, the scripts folder of this
    interpreter (where installing the wheel puts it, as for ruff and uv), then `PATH`.

    Raises:
        FileNotFoundError: no binary there, saying where it looked.
    """
    named = explicit or os.environ.get(BIN_ENV)
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        source = "binary=" if explicit else f"${BIN_ENV}="
        raise FileNotFoundError(f"{source}{named!r} is not an executable file")
    looked = []
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidate = os.path.join(scripts, _NAME)
        looked.append(candidate)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(_NAME)
    if on_path:
        return on_path
    raise FileNotFoundError(
        f"no {_NAME} binary: looked in {', '.join(looked)} and on PATH; install the "
        f"mock-imds wheel, or set ${BIN_ENV} to the binary (cargo install --path mock-imds)"
    )
