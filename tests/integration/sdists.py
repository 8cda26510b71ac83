"""Source packages whose build backend is the test's own: what pip runs while it builds one
(attacking the host, leaving a tree behind) is up to the test, which no real package allows.

The backend writes a pure-Python wheel of one module, `NAME/__init__.py`, whose text the
test gives as a Python expression evaluated at build time, after the test's own code.
"""

import subprocess

# Evaluated in the backend: the wheel with its METADATA, WHEEL and RECORD (with each file's
# hash, as pip checks).
WHEEL_WRITER = r'''
def write_wheel(wheel_directory, name, init_source):
    info = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": init_source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel_name = f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    return wheel_name
'''


def write_sdist(tmp_path, into, name, code, init_source, before_build="pass"):
    """`NAME-1.0.tar.gz` in the directory `into`, readable by a build's dynamic user.

    `code` is the backend's own module-level code, `before_build` a statement its build_wheel
    runs first, and `init_source` the expression that gives the module's text."""
    backend = (f"import base64, hashlib, os, zipfile\n{code}\n{WHEEL_WRITER}\n"
               "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
               f"    {before_build}\n"
               f"    return write_wheel(wheel_directory, {name!r}, {init_source})\n")
    source = tmp_path / f"{name}-1.0"
    source.mkdir()
    (source / "backend.py").write_text(backend)
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    (source / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    into.mkdir(parents=True, exist_ok=True)
    sdist = into / f"{name}-1.0.tar.gz"
    subprocess.run(["tar", "-czf", str(sdist), "-C", str(tmp_path), f"{name}-1.0"], check=True, timeout=60)
    sdist.chmod(0o644)
    return sdist
