"""driftwarden.operator: kopf handlers, reconcilers, status, metrics and the retrain engine."""
