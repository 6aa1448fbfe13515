"""Suite-wide pytest configuration.

``cluster.plugin`` provides the real Kubernetes control plane fixtures (``control_plane``,
``pod_runner``, ``namespace``, ``admin_api``...) to every test folder; see tests/README.md.
Starting the control plane costs nothing unless a test asks for it.
"""

pytest_plugins = ["cluster.plugin"]
