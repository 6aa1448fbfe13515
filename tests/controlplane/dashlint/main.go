// dashlint checks a Grafana dashboard JSON file and prints one line per problem; it exits 1
// when there is any, 2 when the file cannot be read.
//
// Grafana's own dashboard linter (github.com/grafana/dashboard-linter) cannot be had from the
// Go module proxy here, so this program does its two jobs with what can:
//
//   - the schema: the dashboard is decoded strictly (unknown fields are errors) into the types
//     Grafana generates from its own schemas, grafana-foundation-sdk, with every panel
//     plugin's options and field config registered, then validated by the same SDK;
//   - the linter's rules for Prometheus dashboards, under the linter's rule names: a
//     datasource variable; every panel and query on it; query variables refreshed on time
//     range change; titles and descriptions; units; no panel without queries; rate windows
//     on $__rate_interval; plus unique panel ids and titles and a grid that fits 24 columns
//     without overlap.
//
// Built by ../build-gotool.sh dashlint from the pinned go.mod/go.sum beside this file.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const datasourceRef = "${datasource}"

type problems []string

func (p *problems) add(rule, where, format string, args ...any) {
	*p = append(*p, fmt.Sprintf("%s: %s: %s", rule, where, fmt.Sprintf(format, args...)))
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dashlint DASHBOARD.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var found problems
	schema(raw, &found)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		fmt.Fprintf(os.Stderr, "%s: not JSON: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	lint(doc, &found)
	for _, line := range found {
		fmt.Println(line)
	}
	if len(found) > 0 {
		os.Exit(1)
	}
}

func schema(raw []byte, found *problems) {
	plugins.RegisterDefaultPlugins()
	var board dashboard.Dashboard
	if err := board.UnmarshalJSONStrict(raw); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				found.add("schema", "dashboard", "%s", line)
			}
		}
		return
	}
	if err := board.Validate(); err != nil {
		found.add("schema", "dashboard", "%v", err)
	}
}

func lint(doc map[string]any, found *problems) {
	variables := list(mapping(doc["templating"])["list"])
	hasDatasource := false
	for _, v := range variables {
		variable := mapping(v)
		name, _ := variable["name"].(string)
		switch variable["type"] {
		case "datasource":
			if name == "datasource" && variable["query"] == "prometheus" {
				hasDatasource = true
			}
		case "query":
			where := "variable " + name
			if ref := mapping(variable["datasource"]); ref["uid"] != datasourceRef {
				found.add("template-datasource-rule", where, "must query %s", datasourceRef)
			}
			if refresh, _ := variable["refresh"].(float64); refresh != 2 {
				found.add("template-on-time-change-reload-rule", where, "refresh must be 2 (on time range change)")
			}
		}
	}
	if !hasDatasource {
		found.add("template-datasource-rule", "dashboard", "needs a variable 'datasource' of type datasource for prometheus")
	}

	ids := map[float64]string{}
	titles := map[string]bool{}
	var cells []cell
	for _, p := range panelsOf(list(doc["panels"])) {
		panel := mapping(p)
		title, _ := panel["title"].(string)
		kind, _ := panel["type"].(string)
		where := fmt.Sprintf("panel %q", title)
		if id, ok := panel["id"].(float64); !ok {
			found.add("panel-id-rule", where, "has no id")
		} else if other, seen := ids[id]; seen {
			found.add("panel-id-rule", where, "id %v is also %q's", id, other)
		} else {
			ids[id] = title
		}
		if grid := mapping(panel["gridPos"]); len(grid) > 0 {
			c := cell{where, num(grid["x"]), num(grid["y"]), num(grid["w"]), num(grid["h"])}
			if c.x < 0 || c.w <= 0 || c.x+c.w > 24 || c.h <= 0 {
				found.add("panel-grid-rule", where, "gridPos %v does not fit 24 columns", grid)
			}
			cells = append(cells, c)
		} else {
			found.add("panel-grid-rule", where, "has no gridPos")
		}
		if kind == "row" {
			continue
		}
		if title == "" {
			found.add("panel-title-description-rule", fmt.Sprintf("panel %v", panel["id"]), "has no title")
		} else if titles[title] {
			found.add("panel-title-description-rule", where, "title used twice")
		}
		titles[title] = true
		if d, _ := panel["description"].(string); d == "" {
			found.add("panel-title-description-rule", where, "has no description")
		}
		if kind == "text" {
			continue
		}
		if ref := mapping(panel["datasource"]); ref["uid"] != datasourceRef {
			found.add("panel-datasource-rule", where, "must use %s", datasourceRef)
		}
		switch kind {
		case "timeseries", "stat", "gauge", "bargauge":
			defaults := mapping(mapping(panel["fieldConfig"])["defaults"])
			if u, _ := defaults["unit"].(string); u == "" {
				found.add("panel-units-rule", where, "has no unit")
			}
		}
		targets := list(panel["targets"])
		if len(targets) == 0 {
			found.add("panel-no-targets-rule", where, "has no queries")
		}
		for _, t := range targets {
			target := mapping(t)
			expr, _ := target["expr"].(string)
			if strings.TrimSpace(expr) == "" {
				found.add("target-promql-rule", where, "query %v has no expression", target["refId"])
			}
			if ref := mapping(target["datasource"]); len(ref) > 0 && ref["uid"] != datasourceRef {
				found.add("panel-datasource-rule", where, "query %v must use %s", target["refId"], datasourceRef)
			}
			for _, window := range rangeWindows(expr) {
				if window != "$__rate_interval" {
					found.add("target-rate-interval-rule", where, "rate window [%s] should be [$__rate_interval]", window)
				}
			}
		}
	}
	overlaps(cells, found)
}

type cell struct {
	where      string
	x, y, w, h float64
}

func overlaps(cells []cell, found *problems) {
	sort.Slice(cells, func(i, j int) bool { return cells[i].y < cells[j].y })
	for i := range cells {
		for j := i + 1; j < len(cells); j++ {
			a, b := cells[i], cells[j]
			if a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h {
				found.add("panel-grid-rule", a.where, "overlaps %s", b.where)
			}
		}
	}
}

var rateCall = regexp.MustCompile(`\b(?:rate|irate|increase)\s*\([^\[]*\[([^\]]+)\]`)

func rangeWindows(expr string) []string {
	var windows []string
	for _, m := range rateCall.FindAllStringSubmatch(expr, -1) {
		windows = append(windows, m[1])
	}
	return windows
}

// panelsOf flattens rows: a collapsed row keeps its panels inside it.
func panelsOf(panels []any) []any {
	var all []any
	for _, p := range panels {
		all = append(all, p)
		all = append(all, list(mapping(p)["panels"])...)
	}
	return all
}

func mapping(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
