"""Prometheus metrics of the operator: a collector built at scrape time from the operator's
view of its monitors (`view.py`, fed by the handlers), served on its own port
(`server.py`). The only package that imports prometheus-client. See docs/metrics.md.
"""
