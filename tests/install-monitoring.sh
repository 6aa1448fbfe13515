#!/usr/bin/env bash
# The monitoring tests (rules, Alertmanager configuration, the alerting end-to-end test)
# start Debian's Prometheus and Alertmanager and run promtool and amtool (tests/promstack.py).
# Install the packages when a binary is missing (Debian/Ubuntu, as root); otherwise say
# what to do. Idempotent.
set -euo pipefail
missing=0
for tool in prometheus promtool amtool; do
  command -v "$tool" >/dev/null || missing=1
done
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || missing=1
if [ "$missing" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "prometheus, promtool, alertmanager or amtool not found: install Debian's prometheus and prometheus-alertmanager (the monitoring tests need them)" >&2
  exit 0
fi
echo "== installing Prometheus and Alertmanager for the monitoring tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager
