"""The broker's D-Bus policy (policy/org.pyrunner.Broker1.conf) as the bus enforces it: the
front's user may call each method the policy lists and nothing else, and root (the
operator's `pyrunnerd env create`) only CreateEnvironment. That the policy lists exactly the
interface's methods (src/protocol/org.pyrunner.Broker1.xml) is checked without a bus, by
tests/architecture/check_policy.py."""

import xml.etree.ElementTree as ET
from pathlib import Path

from deployment import FRONT_USER

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policy" / "org.pyrunner.Broker1.conf"
BROKER = ("org.pyrunner.Broker1", "/org/pyrunner/Broker1")
INTERFACE = "org.pyrunner.Broker1"


def allowed_members(user=FRONT_USER):
    policy = ET.parse(POLICY).getroot()
    return {rule.get("send_member") for section in policy.iter("policy") if section.get("user") == user
            for rule in section.iter("allow") if rule.get("send_destination") == BROKER[0]}


def as_front(machine, *command):
    return machine.run("setpriv", f"--reuid={FRONT_USER}", f"--regid={FRONT_USER}",
                       "--clear-groups", "--", *command, check=False)


def test_the_bus_lets_the_fronts_user_reach_every_listed_method(machine, server):
    for member in sorted(allowed_members()):
        # Without arguments: the broker answers (a result, or refuses the call's shape), so
        # the bus let the call through.
        result = as_front(machine, "busctl", "call", *BROKER, INTERFACE, member)
        assert "access denied" not in result.stderr.lower(), (member, result.stderr)


def test_the_bus_refuses_the_fronts_user_any_other_member(machine, server):
    for command in (["call", *BROKER, INTERFACE, "Shutdown"], ["introspect", *BROKER]):
        result = as_front(machine, "busctl", *command)
        assert result.returncode != 0
        assert "access denied" in result.stderr.lower(), (command, result.stderr)


def test_the_bus_refuses_root_too(machine, server):
    result = machine.run("busctl", "call", *BROKER, INTERFACE, "Layers", check=False)
    assert result.returncode != 0
    assert "access denied" in result.stderr.lower(), result.stderr
