#!/usr/bin/env bash
# Build driftwarden's test control plane from pinned Go modules and print the folder that
# holds the binaries:
#
#   bin/kcp    etcd | apiserver | controller-manager (one multi-call binary, see kcp/main.go)
#   bin/helm   the helm CLI (its own module, see helm/go.mod)
#
# The folder is ${DRIFTWARDEN_CACHE:-~/.cache/driftwarden}/controlplane-<k8s>-<hash>, where the
# hash covers both modules' go.mod, go.sum and sources, this script and the Go version. When
# it already exists nothing is built (a second run takes well under a second). Otherwise the
# binaries are built into a temporary folder beside it and moved in place at the end, so an
# interrupted build never leaves a half-filled cache folder. Go's own module and build caches
# (GOMODCACHE, GOCACHE) stay at their defaults, so even a rebuild after a change is fast.
#
# Flags: --print-dir  print the folder and exit, 0 if it is built, 1 if not (builds nothing).
# The last line on stdout is always the folder; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"

command -v go >/dev/null || {
	echo "build.sh: Go is not installed (need go >= $(awk '$1=="go"{print $2}' "$here/kcp/go.mod"))" >&2
	exit 3
}

k8s="$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' "$here/kcp/go.mod")"
helm="$(awk '$1 == "helm.sh/helm/v4" {print $2; exit}' "$here/helm/go.mod")"
hash="$(
	{
		go env GOVERSION GOARCH GOOS
		cd "$here" && find build.sh kcp helm -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name '*.sh' \) |
			LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-12
)"
cache="${DRIFTWARDEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/driftwarden}"
dest="$cache/controlplane-$k8s-$hash"

if [ -x "$dest/bin/kcp" ] && [ -x "$dest/bin/helm" ]; then
	[ "${1:-}" = "--print-dir" ] || echo "build.sh: control plane $k8s already built" >&2
	echo "$dest"
	exit 0
fi
if [ "${1:-}" = "--print-dir" ]; then
	echo "$dest"
	exit 1
fi

mkdir -p "$cache"
# One build at a time per cache folder (parallel CI jobs, a test session and a shell).
exec 9>"$cache/.build.lock"
flock 9
if [ -x "$dest/bin/kcp" ] && [ -x "$dest/bin/helm" ]; then
	echo "$dest"
	exit 0
fi

tmp="$(mktemp -d "$cache/.building-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "build.sh: building the control plane (kubernetes $k8s, helm $helm) into $dest" >&2
echo "build.sh: a cold build takes about 15 minutes on 2 cores; later ones reuse Go's build cache" >&2

minor="${k8s#v1.}"
minor="${minor%%.*}"
(
	cd "$here/kcp"
	go mod download
	go build -o "$tmp/bin/kcp" -ldflags "-s -w \
		-X k8s.io/component-base/version.gitVersion=$k8s \
		-X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$minor \
		-X k8s.io/component-base/version.gitTreeState=clean \
		-X k8s.io/client-go/pkg/version.gitVersion=$k8s \
		-X k8s.io/client-go/pkg/version.gitMajor=1 \
		-X k8s.io/client-go/pkg/version.gitMinor=$minor" .
)
echo "build.sh: kcp built after $((SECONDS - start))s" >&2
(
	cd "$here/helm"
	go mod download
	go build -o "$tmp/bin/helm" -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm" helm.sh/helm/v4/cmd/helm
)
echo "build.sh: helm built after $((SECONDS - start))s" >&2

"$tmp/bin/kcp" version > "$tmp/VERSIONS"
"$tmp/bin/helm" version --short | sed 's/^/helm /' >> "$tmp/VERSIONS"
go version >> "$tmp/VERSIONS"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "build.sh: done in $((SECONDS - start))s" >&2
cat "$dest/VERSIONS" >&2
echo "$dest"
