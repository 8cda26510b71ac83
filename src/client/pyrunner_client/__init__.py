"""pyrunner_client: run Python on a pyrunner server from Python, with the standard library.

    from pyrunner_client import Client
    client = Client()                      # $PYRUNNER_URL, $PYRUNNER_TOKEN
    run = client.run("report.py", files=["data.csv"], environment="datascience")
    print(run.status, run.stdout)
    client.download_files(run.id, "out")

See docs/client.md for the whole module and the `pyrunner` command built on it.
"""

from .client import DEFAULT_URL, Client
from .errors import (
    ApiError,
    BadRequest,
    FileCheckFailed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PyrunnerError,
    ServerUnreachable,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsafePath,
)
from .models import FINAL_STATUSES, Environment, Event, FileInfo, Package, Run, SkippedFile

__all__ = [
    "DEFAULT_URL",
    "FINAL_STATUSES",
    "ApiError",
    "BadRequest",
    "Client",
    "Environment",
    "Event",
    "FileCheckFailed",
    "FileInfo",
    "Forbidden",
    "NotFound",
    "Package",
    "PayloadTooLarge",
    "PyrunnerError",
    "Run",
    "ServerUnreachable",
    "ServiceUnavailable",
    "SkippedFile",
    "TooManyRequests",
    "Unauthorized",
    "UnsafePath",
]
