#!/usr/bin/env python3
"""The broker's bus policy against its interface: the front's user may call every method of
org.pyrunner.Broker1.xml but CreateEnvironment, root that one alone, and the policy names
nothing the interface does not have. Exits non-zero, saying what differs.

    check_policy.py --interface org.pyrunner.Broker1.xml --policy org.pyrunner.Broker1.conf
"""

import argparse
import sys
import xml.etree.ElementTree as ET

FRONT_USER = "pyrunner"
# The operator's methods: root may call these, the front may not.
ROOT_ONLY = {"CreateEnvironment"}


def interface_members(path):
    node = ET.parse(path).getroot()
    (interface,) = node.iter("interface")
    methods = {method.get("name") for method in interface.iter("method")}
    signals = {signal.get("name") for signal in interface.iter("signal")}
    return interface.get("name"), methods, signals


def allowed_members(policy, destination, interface, user):
    members = set()
    for section in policy.iter("policy"):
        if section.get("user") != user:
            continue
        for rule in section.iter("allow"):
            if rule.get("send_destination") != destination:
                continue
            if rule.get("send_interface") != interface:
                members.add(f"(a rule of another interface: {rule.get('send_interface')})")
            members.add(rule.get("send_member"))
    return members


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True)
    parser.add_argument("--policy", required=True)
    options = parser.parse_args()
    name, methods, signals = interface_members(options.interface)
    policy = ET.parse(options.policy).getroot()
    front = allowed_members(policy, name, name, FRONT_USER)
    root = allowed_members(policy, name, name, "root")
    problems = []
    if front != methods - ROOT_ONLY:
        problems.append(f"the policy lets {FRONT_USER} call {sorted(front)}; the interface's "
                        f"methods for it are {sorted(methods - ROOT_ONLY)}")
    if root != ROOT_ONLY & methods:
        problems.append(f"the policy lets root call {sorted(root)}; only {sorted(ROOT_ONLY)}")
    if ROOT_ONLY - methods:
        problems.append(f"{sorted(ROOT_ONLY - methods)} are not in the interface")
    receives = [rule for section in policy.iter("policy") if section.get("user") == FRONT_USER
                for rule in section.iter("allow") if rule.get("receive_sender") == name]
    if signals and not receives:
        problems.append(f"the interface has signals {sorted(signals)}; {FRONT_USER} may not hear them")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{name}: the policy matches {len(methods)} methods and {len(signals)} signals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
