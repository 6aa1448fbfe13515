"""driftwarden.operator.reconcile: pure planners.

(custom resource, observed objects, now) -> the objects that should exist, the status to
write and the Events to emit. No API calls, no kopf: the adapters make the plans so.
"""
