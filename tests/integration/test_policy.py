"""The broker's D-Bus policy (policy/org.pyrunner.Broker1.conf) names every method the broker
exports, and nothing else: the front's user may call exactly those it needs, member by
member, and root (the operator's `pyrunnerd env create`) only CreateEnvironment."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from deployment import FRONT_USER

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policy" / "org.pyrunner.Broker1.conf"
# Where the broker registers its methods; the bus policy lets no one, root included,
# introspect the broker, so the list is read from there.
BROKER_SOURCE = REPO / "src" / "systemd" / "broker_service.cpp"
BROKER = ("org.pyrunner.Broker1", "/org/pyrunner/Broker1")
INTERFACE = "org.pyrunner.Broker1"


def allowed_members(user=FRONT_USER):
    policy = ET.parse(POLICY).getroot()
    return {rule.get("send_member") for section in policy.iter("policy") if section.get("user") == user
            for rule in section.iter("allow") if rule.get("send_destination") == BROKER[0]}


def exported_methods():
    return set(re.findall(r'registerMethod\("(\w+)"\)', BROKER_SOURCE.read_text()))


def as_front(machine, *command):
    return machine.run("setpriv", f"--reuid={FRONT_USER}", f"--regid={FRONT_USER}",
                       "--clear-groups", "--", *command, check=False)


def test_the_policy_allows_exactly_the_methods_the_broker_registers():
    exported = exported_methods()
    assert exported, f"found no registerMethod in {BROKER_SOURCE}"
    assert allowed_members(FRONT_USER) | allowed_members("root") == exported
    assert allowed_members("root") == {"CreateEnvironment"}
    assert "CreateEnvironment" not in allowed_members(FRONT_USER)


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
