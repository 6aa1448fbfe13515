"""Alerting: the Alertmanager webhook receiver (alert history) and the silences the
operator keeps for acknowledgements and maintenance windows. See docs/alerting.md.

Pure: `payload` (the webhook's notification), `windows` (maintenance occurrences), `plan`
(which silences should exist). Adapters: `alertmanager` (its API v2), `receiver` (the
aiohttp server). Glue: `sync` (gather, plan, apply), `runtime` (started by the operator).
Light on import (`options` is read by the CLI's parser).
"""
