#!/usr/bin/env bash
# Build one of the Go test tools beside this script (kstatus, dashlint: a folder with main.go
# and a pinned go.mod/go.sum) and print the folder holding bin/<tool>.
#
#   build-gotool.sh TOOL [--print-dir]
#
# Like build.sh: the folder is ${DRIFTWARDEN_CACHE:-~/.cache/driftwarden}/<tool>-<version>-<hash>,
# <version> the first required module's version in go.mod and the hash covering go.mod, go.sum,
# the sources, this script and the Go version; an existing folder is reused, a build goes to a
# temporary folder moved in place at the end, under a lock.
#
# --print-dir: print the folder and exit, 0 if it is built, 1 if not (builds nothing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tool="${1:?usage: build-gotool.sh TOOL [--print-dir]}"
[ -f "$here/$tool/go.mod" ] || {
	echo "build-gotool.sh: no Go tool '$tool' in $here" >&2
	exit 2
}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"

command -v go >/dev/null || {
	echo "build-gotool.sh: Go is not installed" >&2
	exit 3
}
version="$(awk '$1 == "require" && $2 != "(" {print $3; exit} $1 == "require" {getline; print $2; exit}' "$here/$tool/go.mod")"
hash="$(
	{
		go env GOVERSION GOARCH GOOS
		cd "$here" && find build-gotool.sh "$tool" -type f | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-12
)"
cache="${DRIFTWARDEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/driftwarden}"
dest="$cache/$tool-$version-$hash"

if [ -x "$dest/bin/$tool" ]; then
	echo "$dest"
	exit 0
fi
if [ "${2:-}" = "--print-dir" ]; then
	echo "$dest"
	exit 1
fi
mkdir -p "$cache"
exec 9>"$cache/.$tool.lock"
flock 9
if [ -x "$dest/bin/$tool" ]; then
	echo "$dest"
	exit 0
fi
tmp="$(mktemp -d "$cache/.building-$tool-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
	cd "$here/$tool"
	go mod download
	go build -o "$tmp/bin/$tool" -ldflags "-s -w" .
)
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "build-gotool.sh: $tool $version built" >&2
echo "$dest"
