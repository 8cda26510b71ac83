"""One harness for tests/integration and tests/hostile: one machine per pytest session.

The fixtures (machine, server, server_factory) live in tests/integration/conftest.py. pytest
scopes a conftest's fixtures to its own folder, and a second copy of them would be a second
session fixture: a second machine. So this conftest loads that file once and registers its
contents as a plugin *under the name pytest gives that conftest*: pytest then takes the file
as already loaded and does not load it again, and, the plugin having no file of its own, its
fixtures are visible to every folder. tests/integration still works on its own, unchanged.
"""

import importlib.util
import sys
import types
from pathlib import Path

INTEGRATION = Path(__file__).parent / "integration"
# The key pytest looks a conftest up by: its path as pytest spells it.
INTEGRATION_CONFTEST = str(INTEGRATION / "conftest.py")

# The harness and its tests import api_client as a top-level module.
if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))


def load_harness():
    spec = importlib.util.spec_from_file_location("pyrunner_integration_harness", INTEGRATION_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    # Everything but the module's identity (__file__ would scope the fixtures to its folder).
    harness = types.ModuleType("pyrunner_integration_fixtures")
    harness.__dict__.update({name: value for name, value in vars(module).items() if not name.startswith("__")})
    return harness


def pytest_plugin_registered(manager):
    # Called as this conftest itself is registered, before pytest reaches tests/integration.
    if manager.get_plugin(INTEGRATION_CONFTEST) is None:
        manager.register(load_harness(), name=INTEGRATION_CONFTEST)
