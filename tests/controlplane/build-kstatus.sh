#!/usr/bin/env bash
# Build kstatus (sigs.k8s.io/cli-utils/pkg/kstatus, what Flux and kubectl-wait style tools
# read) from the pinned Go module in ./kstatus and print the folder holding bin/kstatus.
#
# Like build.sh: the folder is ${DRIFTWARDEN_CACHE:-~/.cache/driftwarden}/kstatus-<cli-utils>-<hash>,
# the hash covering go.mod, go.sum, the sources, this script and the Go version; an existing
# folder is reused, a build goes to a temporary folder moved in place at the end.
#
# Flags: --print-dir  print the folder and exit, 0 if it is built, 1 if not (builds nothing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"

command -v go >/dev/null || {
	echo "build-kstatus.sh: Go is not installed" >&2
	exit 3
}
version="$(awk '$1 == "sigs.k8s.io/cli-utils" {print $2; exit}' "$here/kstatus/go.mod")"
hash="$(
	{
		go env GOVERSION GOARCH GOOS
		cd "$here" && find build-kstatus.sh kstatus -type f | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-12
)"
cache="${DRIFTWARDEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/driftwarden}"
dest="$cache/kstatus-$version-$hash"

if [ -x "$dest/bin/kstatus" ]; then
	echo "$dest"
	exit 0
fi
if [ "${1:-}" = "--print-dir" ]; then
	echo "$dest"
	exit 1
fi
mkdir -p "$cache"
exec 9>"$cache/.kstatus.lock"
flock 9
if [ -x "$dest/bin/kstatus" ]; then
	echo "$dest"
	exit 0
fi
tmp="$(mktemp -d "$cache/.building-kstatus-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
	cd "$here/kstatus"
	go mod download
	go build -o "$tmp/bin/kstatus" -ldflags "-s -w" .
)
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "build-kstatus.sh: kstatus $version built" >&2
echo "$dest"
