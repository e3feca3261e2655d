"""Bindings: actor and audit, hall and online binding, invitations, unbinding, audit trail, hall lookup."""
