#!/usr/bin/env bash
# Build kstatus (sigs.k8s.io/cli-utils/pkg/kstatus, what Flux and kubectl-wait style tools
# read) from the pinned Go module in ./kstatus and print the folder holding bin/kstatus.
# Flags: --print-dir  print the folder and exit, 0 if it is built, 1 if not (builds nothing).
exec bash "$(dirname "$0")/build-gotool.sh" kstatus "$@"
