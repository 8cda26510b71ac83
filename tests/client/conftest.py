"""The client's own unit tests: pure Python, no server. The module comes from the checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src" / "client"))
