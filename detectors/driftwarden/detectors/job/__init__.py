"""The detector Job: `driftwarden run` and its contract with the operator.

Sits above the engine, the sources and the storage; never imports the operator (the operator
imports `contract` instead). See docs/job.md.
"""
