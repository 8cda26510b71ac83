# Attack: enumerate systemd's dynamic users through the userdb socket
# (/run/systemd/userdb/io.systemd.DynamicUser, varlink): each live run has one, so the list
# tells which other runs exist and their UIDs.
# Expected: no dynamic user but the run's own is listed; `succeeded`.
import json
import os
import socket

request = {"method": "io.systemd.UserDatabase.GetUserRecord",
           "parameters": {"service": "io.systemd.DynamicUser"}, "more": True}
others = []
try:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect("/run/systemd/userdb/io.systemd.DynamicUser")
        s.sendall(json.dumps(request).encode() + b"\0")
        data = b""
        while not data.endswith(b"\0") or b'"continues":true' in data.split(b"\0")[-2]:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    for reply in data.split(b"\0"):
        record = json.loads(reply or b"{}").get("parameters", {}).get("record", {})
        if record and record.get("uid") != os.getuid():
            others.append(record.get("uid"))
except OSError:
    pass
print(json.dumps({"other_dynamic_users": sorted(others)}), flush=True)
