"""How the harness lays pyrunner out inside the test machine (scripts/lib/start-broker.sh)."""

# The privileged half, one per machine: every test server is a front of it.
BROKER_UNIT = "pyrunnerd-broker"
# The unprivileged user the HTTP fronts run as; only it may call the broker.
FRONT_USER = "pyrunner"
# The broker's, shared by every front in the machine.
STATE_DIR = "/var/lib/pyrunner"
