"""kopf registration and glue: gather what exists, call a pure planner, hand the plan to
the adapters in `driftwarden.operator.k8s`. No decision lives here."""
