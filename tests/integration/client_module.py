"""The checkout's pyrunner_client and pyrunner command, as the tests use them: the module
imported from src/client, the command run from there with the system's python3."""

import os
import sys
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parents[2] / "src" / "client"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

COMMAND = ["/usr/bin/python3", str(CLIENT_DIR / "pyrunner")]


def command_env(server, **extra):
    """The environment `pyrunner` reads its server and token from, and the module's path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRUNNER_")}
    env.update(PYRUNNER_URL=server.base_url, PYRUNNER_TOKEN=server.token, PYTHONPATH=str(CLIENT_DIR),
               PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env
