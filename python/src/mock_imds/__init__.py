"""mock-imds from Python: a fake EC2 Instance Metadata Service and a fake STS that fail
on command, for tests of code that gets AWS credentials from an instance role.

`MockImds` starts the `mock-imds` binary this wheel carries and drives it; the pytest
plugin (`mock_imds.pytest_plugin`, loaded by the `pytest11` entry point) gives the
`mock_imds` fixture, its session-scoped variant `mock_imds_session`, and the
`@pytest.mark.mock_imds(**settings)` marker.
"""

from ._binary import BIN_ENV, find_binary
from ._client import MockImds
from ._wire import Clock, Rotation, Step, is_credential_fetch
from ._environ import sanitised_environ, sdk_environ
from ._errors import ControlError, MockImdsError, StartError

__all__ = [
    "BIN_ENV",
    "Clock",
    "ControlError",
    "MockImds",
    "MockImdsError",
    "Rotation",
    "StartError",
    "Step",
    "find_binary",
    "is_credential_fetch",
    "sanitised_environ",
    "sdk_environ",
]
