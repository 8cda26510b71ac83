"""Environments: the interpreter and packages a run chooses, shared read-only between runs.

The broker of the test machine installs runs' requirements from build/wheels
(scripts/lib/start-broker.sh); the tests put wheels there that they build themselves from a
tiny local package, so nothing comes from the network.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from api_client import describe
from deployment import BROKER_UNIT
from sdists import write_sdist

# As conftest.py finds it; the machine sees it at the same path.
BUILD = Path(os.environ.get("PYRUNNER_BUILD_DIR", Path(__file__).resolve().parents[2] / "build")).resolve()

VERSION = re.compile(r"\d+\.\d+\.\d+")
PNG_MAGIC = "89504e470d0a1a0a"
# How long a new environment may take to reach a front after the broker announced it.
LISTING_DEADLINE_S = 10
BUILD_TIMEOUT_S = 300
# The broker's --environments-dir.
ENVIRONMENTS_DIR = "/var/lib/pyrunner-environments"


def environments(server):
    response = server.get("/environments")
    assert response.status_code == 200, describe(response)
    return {each["name"]: each for each in response.json()["environments"]}


def make_wheel(tmp_path, name, version, value, into):
    """Builds a one-module wheel `name` whose module holds VALUE = value."""
    module = name.replace("-", "_")
    source = tmp_path / f"{module}-{version}"
    (source / module).mkdir(parents=True)
    (source / module / "__init__.py").write_text(f"VALUE = {value!r}\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["/usr/bin/python3", "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(into), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    # Readable by the build's dynamic user.
    for path in [into, *into.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return module


def create_operator_environment(machine, server, tmp_path, name, version, value):
    """`pyrunnerd env create NAME` from a one-module wheel holding VALUE = value, asserted to
    succeed, then awaited in the front's listing. Returns the module, the requirements file
    and the wheel directory."""
    wheels = BUILD / "test-wheels" / name
    module = make_wheel(tmp_path, f"pyrunner-{name}", version, value, wheels)
    requirements = wheels / "requirements.txt"
    requirements.write_text(f"pyrunner-{name}=={version}\n")
    requirements.chmod(0o644)
    created = create_environment(machine, name, requirements, wheels)
    assert created.returncode == 0, created.stdout + created.stderr
    deadline = time.monotonic() + LISTING_DEADLINE_S
    while name not in environments(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    return module, requirements, wheels


def create_environment(machine, name, requirements, wheels):
    return machine.run(str(BUILD / "pyrunnerd"), "env", "create", name,
                       "--requirements", str(requirements), "--find-links", str(wheels),
                       timeout_s=BUILD_TIMEOUT_S, check=False)


def test_each_environment_is_listed_with_its_python_version_and_packages(server):
    listed = environments(server)
    assert {"default", "datascience"} <= listed.keys()
    assert VERSION.fullmatch(listed["default"]["python_version"])
    # Isolated and without site: Debian's packages are not there.
    assert listed["default"]["packages"] == []
    packages = {p["name"].lower(): p["version"] for p in listed["datascience"]["packages"]}
    for name in ("numpy", "pandas", "matplotlib"):
        assert VERSION.match(packages.get(name, "")), (name, packages)


def test_an_unknown_environment_is_refused_with_the_available_ones(server):
    response = server.post("/run-json/", json={"code": "print(1)", "environment": "nope"})
    assert response.status_code == 400, describe(response)
    error = response.json()["error"]
    assert '"nope"' in error and "default" in error and "datascience" in error


def test_default_has_the_standard_library_only(server):
    run = server.run("import pandas")
    assert run["status"] == "failed", run
    assert "ModuleNotFoundError" in run["stderr"]
    run = server.run("import json, sqlite3, decimal; print(json.dumps([decimal.Decimal(1).is_finite()]))")
    assert (run["status"], run["stdout"]) == ("succeeded", "[true]\n"), run
    assert run["environment"] == "default"


def test_default_still_has_what_site_gives_every_script(server):
    # Debian's packages are hidden from it, not Python's site module: exit() is there.
    code = ("import os, sys\n"
            "def listable(path):\n"
            "    try:\n"
            "        return bool(os.listdir(path))\n"
            "    except OSError:\n"
            "        return False\n"
            "print([path for path in sys.path if 'packages' in path and listable(path)])\n"
            "exit(3)\n")
    run = server.run(code)
    assert (run["status"], run["exit_code"], run["stdout"]) == ("failed", 3, "[]\n"), run


def test_datascience_has_pandas(server):
    run = server.run("import pandas\nprint(pandas.DataFrame({'a': [1, 2, 3]})['a'].sum())",
                     environment="datascience")
    assert (run["status"], run["stdout"], run["environment"]) == ("succeeded", "6\n", "datascience"), run


def test_matplotlib_saves_a_png_into_the_scratch_dir(server):
    code = (
        "import os, matplotlib\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [3, 1, 2])\n"
        "plt.savefig('plot.png')\n"
        "data = open('plot.png', 'rb').read()\n"
        "print(matplotlib.get_backend(), data[:8].hex(), len(data) > 1000, os.getcwd())\n"
    )
    run = server.run(code, environment="datascience")
    assert run["status"] == "succeeded", run
    assert run["exit_code"] == 0
    assert run["stdout"].split() == ["agg", PNG_MAGIC, "True", "/tmp"], run
    # Nothing about fonts or caches it could not find or write.
    assert run["stderr"] == "", run["stderr"]


MODIFY_ENVIRONMENT = """
import errno, os, sys, numpy
here = os.path.dirname(numpy.__file__)
def attempt(action):
    try:
        action()
        return "written"
    except OSError as error:
        return errno.errorcode[error.errno]
info = os.stat(numpy.__file__)
print(info.st_uid, oct(info.st_mode & 0o022))
print(attempt(lambda: open(os.path.join(here, "planted.py"), "w")))
print(attempt(lambda: os.rename(numpy.__file__, numpy.__file__ + ".old")))
print(attempt(lambda: os.unlink(numpy.__file__)))
print(attempt(lambda: os.chmod(numpy.__file__, 0o666)))
print(attempt(lambda: os.mkdir(os.path.join(os.path.dirname(here), "numpy_evil"))))
# An existing file the run's user may not write fails the permission check first.
print(attempt(lambda: open(numpy.__file__, "a")))
"""


def test_a_run_that_modifies_its_environment_gets_erofs_and_the_next_run_is_unaffected(server):
    run = server.run(MODIFY_ENVIRONMENT, environment="datascience")
    assert run["status"] == "succeeded", run
    lines = run["stdout"].split("\n")
    assert lines[:6] == ["0 0o0", "EROFS", "EROFS", "EROFS", "EROFS", "EROFS"], run
    assert lines[6] in ("EACCES", "EROFS"), run
    after = server.run(
        "import os, numpy\n"
        "here = os.path.dirname(numpy.__file__)\n"
        "print(os.path.exists(os.path.join(here, 'planted.py')), numpy.array([1, 2]).sum())\n",
        environment="datascience",
    )
    assert (after["status"], after["stdout"]) == ("succeeded", "False 3\n"), after


def test_pip_install_inside_a_run_changes_nothing_for_the_next(server):
    code = (
        "import subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-index', '--user', 'six'],"
        " capture_output=True, text=True)\n"
        "print(done.returncode != 0)\n"
    )
    run = server.run(code, environment="datascience")
    assert (run["status"], run["stdout"]) == ("succeeded", "True\n"), run
    after = server.run("import site, os; print(os.path.exists(site.getusersitepackages()))",
                       environment="datascience")
    assert (after["status"], after["stdout"]) == ("succeeded", "False\n"), after


def test_an_operator_builds_an_environment_from_local_wheels(machine, server, tmp_path):
    name = f"tools-{uuid.uuid4().hex[:8]}"
    module, requirements, wheels = create_operator_environment(machine, server, tmp_path, name,
                                                               "1.2.3", 42)

    listed = environments(server)[name]
    assert listed["kind"] == "operator"
    assert {"name": f"pyrunner-{name}", "version": "1.2.3"} in listed["packages"]

    code = (
        f"import os, {module}\n"
        f"info = os.stat({module}.__file__)\n"
        f"print({module}.VALUE, info.st_uid, oct(info.st_mode & 0o222))\n"
        f"print(os.listdir('{ENVIRONMENTS_DIR}'))\n"
        f"try:\n    open(os.path.join(os.path.dirname({module}.__file__), 'x.py'), 'w')\n"
        "except OSError as e:\n    print(e.strerror)\n"
    )
    run = server.run(code, environment=name)
    assert run["status"] == "succeeded", run
    # Its own environment, and no other.
    assert run["stdout"] == f"42 0 0o0\n['{name}']\nRead-only file system\n", run
    others = server.run(f"import os; print(os.path.exists('{ENVIRONMENTS_DIR}/{name}'))")
    assert (others["status"], others["stdout"]) == ("succeeded", "False\n"), others

    again = create_environment(machine, name, requirements, wheels)
    assert again.returncode != 0


@pytest.mark.parametrize("user", ["pyrunner", "65534"])
def test_only_root_may_create_environments(machine, user):
    called = machine.run("setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--",
                         "busctl", "call", "org.pyrunner.Broker1", "/org/pyrunner/Broker1",
                         "org.pyrunner.Broker1", "CreateEnvironment", "sss", "mine", "pkg\n", "/tmp",
                         check=False)
    assert called.returncode != 0
    assert "denied" in called.stderr.lower(), called.stderr


@pytest.fixture(scope="module")
def demo_package(tmp_path_factory):
    """A package in the broker's wheel directory, new for this test run."""
    name = f"pyrunner-demo-{uuid.uuid4().hex[:8]}"
    module = make_wheel(tmp_path_factory.mktemp("demo"), name, "2.0", "demo", BUILD / "wheels")
    return name, module


def test_requirements_are_built_once_for_concurrent_runs_and_reused(server, demo_package):
    name, module = demo_package
    code = f"import {module}; print({module}.VALUE)"
    # The same list written two ways: one environment.
    spellings = [[f"{name}==2.0"], [f" {name.upper().replace('-', '_')} == 2.0 "]]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda reqs: server.run(code, requirements=reqs), spellings))
    for run in runs:
        assert (run["status"], run["stdout"]) == ("succeeded", "demo\n"), run
    assert runs[0]["environment"] == runs[1]["environment"]
    assert runs[0]["environment"].startswith("req-")

    entry = environments(server)[runs[0]["environment"]]
    assert entry["kind"] == "requirements"
    assert entry["requirements"] == [f"{name}==2.0"]
    assert entry["builds"] == 1
    assert {"name": name, "version": "2.0"} in entry["packages"]

    third = server.run(code, requirements=[f"{name}==2.0"])
    assert (third["status"], third["stdout"]) == ("succeeded", "demo\n"), third
    assert environments(server)[third["environment"]]["builds"] == 1


def test_a_built_requirements_environment_outlives_the_broker(server, machine, broker_starter,
                                                                demo_package):
    name, module = demo_package
    code = f"import {module}; print({module}.VALUE)"
    first = server.run(code, requirements=[f"{name}==2.0"])
    assert first["status"] == "succeeded", first

    machine.run("systemctl", "stop", BROKER_UNIT, check=False)
    broker_starter()
    # The front asks the new broker for its environments when it sees it arrive.
    deadline = time.monotonic() + LISTING_DEADLINE_S
    while first["environment"] not in environments(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    entry = environments(server)[first["environment"]]
    assert (entry["requirements"], entry["builds"]) == ([f"{name}==2.0"], 0), entry

    again = server.run(code, requirements=[f"{name}==2.0"])
    assert (again["status"], again["stdout"]) == ("succeeded", "demo\n"), again
    assert environments(server)[first["environment"]]["builds"] == 0


# A build backend that attacks the host while pip builds its package, and ships what it found
# in the package itself, for a run to print.
HOSTILE_BACKEND = r"""
import errno, json, socket

def attempt(action):
    try:
        return repr(action())
    except OSError as error:
        return errno.errorcode[error.errno]

def connect(family, address):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(address)

FOUND = {
    "uid": os.getuid(),
    "write_etc": attempt(lambda: open("/etc/pyrunner-pwned", "w")),
    "write_usr": attempt(lambda: open("/usr/lib/python3/dist-packages/pwned.py", "w")),
    "state": attempt(lambda: os.listdir("/var/lib/pyrunner")),
    "environments": attempt(lambda: os.listdir("/var/lib/pyrunner-environments")),
    "bus": attempt(lambda: connect(socket.AF_UNIX, "/run/dbus/system_bus_socket")),
    "network": attempt(lambda: connect(socket.AF_INET, ("127.0.0.1", PORT))),
}
"""


def test_a_hostile_install_script_is_contained_in_its_build_unit(machine, server, tmp_path):
    write_sdist(tmp_path, BUILD / "wheels", "hostile",
                code=HOSTILE_BACKEND.replace("PORT", server.base_url.rsplit(":", 1)[1]),
                init_source='"FOUND = " + repr(json.dumps(FOUND, sort_keys=True)) + "\\n"')

    run = server.run("import hostile; print(hostile.FOUND)", requirements=["hostile==1.0"])
    assert run["status"] == "succeeded", run
    found = json.loads(run["stdout"])
    assert found["uid"] != 0
    assert found["write_etc"] == found["write_usr"] == "EROFS", found
    assert found["state"] in ("EACCES", "ENOENT"), found
    assert found["environments"] == "[]", found
    assert found["bus"] in ("ENOENT", "EACCES", "ECONNREFUSED"), found
    assert found["network"] in ("EAFNOSUPPORT", "EPERM", "ENETUNREACH", "ECONNREFUSED"), found
    assert machine.run("test", "-e", "/etc/pyrunner-pwned", check=False).returncode != 0


def test_a_requirement_that_cannot_be_installed_is_an_error_with_the_installers_log(server):
    run = server.run("print(1)", requirements=[f"no-such-package-{uuid.uuid4().hex[:8]}"])
    assert run["status"] == "error", run
    assert "No matching distribution" in run["error"] or "Could not find" in run["error"], run


@pytest.mark.parametrize("requirement", ["--index-url=http://127.0.0.1/", "pkg @ file:///etc",
                                          "-r /etc/shadow", "pkg; os_name == 'posix'", "../x"])
def test_requirements_that_are_not_plain_names_and_versions_are_refused(server, requirement):
    response = server.post("/run-json/", json={"code": "", "requirements": [requirement]})
    assert response.status_code == 400, describe(response)
    assert "requirements[0]" in response.json()["error"]
