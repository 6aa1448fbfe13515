"""driftwarden.detectors: the statistics, data sources, storage and the `driftwarden` CLI.

Nothing in this package knows about Kubernetes; the operator imports it, never the reverse.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("driftwarden")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
