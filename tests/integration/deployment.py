"""Where the black-box suites run, and how pyrunner is laid out there.

PYRUNNER_TEST_TARGET picks the test host (docs/testing.md):
  nspawn  a throwaway systemd-nspawn machine over this machine's / (scripts/lib/machine.sh),
          running pyrunner from the build tree; the default
  vm      a Debian VM with systemd as PID 1 on pure cgroup v2 and a real disk
          (scripts/lib/vm.sh), running pyrunner as the .deb installed it
"""

import os

TARGET = os.environ.get("PYRUNNER_TEST_TARGET", "nspawn")
if TARGET not in ("nspawn", "vm"):
    raise SystemExit(f"PYRUNNER_TEST_TARGET is {TARGET!r}: it is nspawn or vm")
ON_VM = TARGET == "vm"

# The privileged half, one per machine: every test server is a front of it. In the nspawn
# machine the harness starts it from the build tree (scripts/lib/start-broker.sh); on the VM
# it is the package's own service.
BROKER_UNIT = "pyrunner-broker.service" if ON_VM else "pyrunnerd-broker"
# The unprivileged user the HTTP fronts run as; only it may call the broker.
FRONT_USER = "pyrunner"
# The broker's, shared by every front in the machine.
STATE_DIR = "/var/lib/pyrunner"
# How many times longer a run may take there than in the nspawn machine: the VM's CPU is
# emulated (docs/testing.md). Tests whose programs must finish within a wall time give them
# this much more, and leave timing checks to the nspawn machine.
SLOWDOWN = 5 if ON_VM else 1
