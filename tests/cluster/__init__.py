"""The real control plane for the tests (see tests/README.md) and the tests that need it."""
