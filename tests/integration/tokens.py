"""Tokens made and revoked as an operator does: `pyrunnerd token` as root in the test host."""


def create_token(machine, name, *options):
    """A new token of tenant `name`; `options` as `pyrunnerd token create` takes them."""
    made = machine.run(machine.pyrunnerd, "token", "create", name, *options)
    token = made.stdout.strip()
    assert token.startswith("pyr_") and "\n" not in token, made
    return token


def revoke_tenant(machine, name):
    """Revokes the tenant and all its tokens; one already gone is no fault."""
    machine.run(machine.pyrunnerd, "token", "revoke", name, check=False)
