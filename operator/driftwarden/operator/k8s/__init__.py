"""The only code that calls the Kubernetes API server.

`errors` turns the API's Status payloads into our exceptions (nothing of the HTTP library
leaks upward), `client` builds a configured client from the kubeconfig or the in-cluster
configuration, `objects` holds the create/replace/patch/list adapters, Events and
server-side dry-run. Decisions are made elsewhere (`driftwarden.operator.reconcile`).
"""
