"""Helpers for a run's files (docs/api.md, "Files in" and "Files out"): submitting files and
archives, building archives, and checking what the server collected and serves.
"""

import base64
import hashlib
import io
import json
import tarfile
import time
import zipfile
from urllib.parse import quote

from api_client import READ_TIMEOUT_S, describe

MIB = 1024 * 1024
SKIP_REASONS = {"symlink", "fifo", "socket", "device", "invalid_name", "unreadable"}
# Copies in the run's directory are named by index (0, 1, ...) beside the manifest.
FILES_DIR = "files"
FILES_MANIFEST = "files-manifest"


def utf8_file(path, text):
    return {"path": path, "content": text, "encoding": "utf-8"}


def base64_file(path, data):
    return {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def post_json(server, body, wall_s=10):
    """POST /run-json/ with exactly `body` (no code added): the response."""
    return server.post("/run-json/", json=body, read_timeout_s=wall_s + READ_TIMEOUT_S)


def run_json(server, body, wall_s=None):
    """A blocking JSON run of `body`: the finished Run object."""
    wall_s = wall_s or body.get("limits", {}).get("wall_time_s", 10)
    response = post_json(server, body, wall_s)
    assert response.status_code == 200, describe(response)
    return response.json()


def post_form(server, script=None, files=(), archive=None, options=None, wall_s=10, query=""):
    """POST /run-file/ as multipart/form-data: the script as `file`, each (path, bytes) of
    `files` as a part `files` whose filename is the path, `archive` as (filename, bytes), and
    `options` as JSON."""
    parts = []
    if script is not None:
        parts.append(("file", ("main.py", script.encode() if isinstance(script, str) else script,
                               "text/x-python")))
    for path, data in files:
        parts.append(("files", (path, data, "application/octet-stream")))
    if archive is not None:
        parts.append(("archive", (archive[0], archive[1], "application/octet-stream")))
    if options is not None:
        parts.append(("options", (None, json.dumps(options), "application/json")))
    return server.post("/run-file/" + query, files=parts, read_timeout_s=wall_s + READ_TIMEOUT_S)


def run_form(server, **kwargs):
    response = post_form(server, **kwargs)
    assert response.status_code == 200, describe(response)
    return response.json()


def assert_files_fields(run):
    """The Run object's files fields, with their types (docs/api.md, "Files out")."""
    for name in ("files", "files_truncated", "files_skipped"):
        assert name in run, f"no {name} in {run}"
    assert isinstance(run["files_truncated"], bool), run["files_truncated"]
    assert isinstance(run["files"], list) and isinstance(run["files_skipped"], list), run
    for entry in run["files"]:
        assert {"path", "size", "sha256", "media_type"} <= entry.keys(), entry
        assert isinstance(entry["path"], str) and entry["path"] and not entry["path"].startswith("/"), entry
        assert isinstance(entry["size"], int) and entry["size"] >= 0, entry
        assert isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64, entry
        int(entry["sha256"], 16)
        assert isinstance(entry["media_type"], str) and "/" in entry["media_type"], entry
    for entry in run["files_skipped"]:
        assert isinstance(entry.get("path"), str), entry
        assert entry.get("reason") in SKIP_REASONS, entry
    paths = [entry["path"] for entry in run["files"]]
    assert len(paths) == len(set(paths)), f"a path listed twice: {paths}"


def by_path(run):
    return {entry["path"]: entry for entry in run["files"]}


def skipped(run):
    """{path: reason} of what the collector left."""
    return {entry["path"]: entry["reason"] for entry in run["files_skipped"]}


def file_url(run_id, path):
    return f"/runs/{run_id}/files/{quote(path, safe='/')}"


def fetch(server, run_id, path):
    return server.get(file_url(run_id, path))


def fetch_ok(server, run_id, path):
    response = fetch(server, run_id, path)
    assert response.status_code == 200, describe(response)
    return response.content


def fetch_zip(server, run_id):
    """{path: bytes} of GET /runs/{id}/files.zip."""
    response = server.get(f"/runs/{run_id}/files.zip")
    assert response.status_code == 200, describe(response)
    assert response.headers.get("Content-Type", "").split(";")[0].strip() == "application/zip", response.headers
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def served_contents(server, run):
    """Every collected file's bytes as the server serves them, each checked against the Run
    object's size and sha256, and the zip checked against them."""
    served = {}
    for entry in run["files"]:
        data = fetch_ok(server, run["id"], entry["path"])
        assert len(data) == entry["size"] and sha256(data) == entry["sha256"], (entry, len(data))
        served[entry["path"]] = data
    assert fetch_zip(server, run["id"]) == served
    return served


def wait_for_files(server, run_id, timeout_s=30):
    """The final Run object once its files are in: a cancelled run is final at once, and the
    fields only the end of its unit can tell (files among them) fill in once it is gone."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = server.wait_until_final(run_id, timeout_s=timeout_s)
        if run["files"] or run["files_skipped"]:
            return run
        assert time.monotonic() < deadline, f"run {run_id}'s files never came: {run}"
        time.sleep(0.2)


def run_dir_is_plain(machine, server, run):
    """The run's directory in the server's state holds the collector's copies as plain files
    named by index, exactly one a collected file, and no link or other odd file anywhere."""
    run_dir = f"{server.state_dir}/runs/{run['id']}"
    odd = machine.run("find", run_dir, "-mindepth", "1", "-not", "-type", "f", "-not", "-type", "d",
                      "-not", "(", "(", "-name", "handover", "-o", "-name", "ready", ")",
                      "-type", "p", "-user", "root", ")").stdout
    assert odd == "", f"not regular files in {run_dir}: {odd}"
    listed = machine.run("sh", "-c", f'ls -A "$1/{FILES_DIR}" 2>/dev/null; true', "sh", run_dir).stdout.split()
    assert all(name.isdigit() for name in listed) and len(listed) == len(run["files"]), (listed, run["files"])
    dirs = machine.run("find", run_dir, "-mindepth", "1", "-type", "d").stdout.split()
    assert set(dirs) <= {f"{run_dir}/{FILES_DIR}"}, dirs


# Archives, built in memory with the members given as (path, bytes).

def zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members:
            archive.writestr(path, data)
    return buffer.getvalue()


def tar_of(members, mode="w", extra=()):
    """A tar (mode "w", "w:gz" or "w:xz") of regular files, a directory entry for each
    parent, and `extra` TarInfo members (links, devices) as they are."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as archive:
        made = set()
        for path, data in members:
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
                    made.add(directory)
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info)
    return buffer.getvalue()


def archive_of(kind, members):
    if kind == "zip":
        return zip_of(members)
    return tar_of(members, {"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz"}[kind])
