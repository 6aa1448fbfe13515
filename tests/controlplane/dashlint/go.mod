// dashlint: Grafana's generated dashboard types (grafana-foundation-sdk), pinned.
module driftwarden.io/tests/controlplane/dashlint

go 1.26.0

require github.com/grafana/grafana-foundation-sdk/go v0.0.22
