package monitoring_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// runbooks are the README sections the alerts may point at.
var runbooks = []string{"#runbook-not-subscribed", "#runbook-gap-open"}

type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// loadAlerts decodes alerts.yaml strictly (unknown fields are errors) and checks each rule's
// shape; it returns the expressions by alert name.
func loadAlerts(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	if len(f.Groups) == 0 {
		t.Fatal("alerts.yaml: no rule groups")
	}
	exprs := map[string]string{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: a name and rules are required", g.Name)
		}
		for _, r := range g.Rules {
			checkRule(t, r)
			if _, dup := exprs[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			exprs[r.Alert] = r.Expr
		}
	}
	return exprs
}

func checkRule(t *testing.T, r rule) {
	t.Helper()
	if r.Alert == "" || strings.TrimSpace(r.Expr) == "" {
		t.Errorf("rule %+v: alert and expr are required", r)
		return
	}
	if r.For != "" {
		if _, err := model.ParseDuration(r.For); err != nil {
			t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
		}
	}
	switch r.Labels["severity"] {
	case "critical", "warning", "info":
	default:
		t.Errorf("%s: severity label %q (want critical, warning or info)", r.Alert, r.Labels["severity"])
	}
	for _, k := range []string{"summary", "description", "runbook"} {
		if strings.TrimSpace(r.Annotations[k]) == "" {
			t.Errorf("%s: annotation %s missing", r.Alert, k)
		}
	}
	if rb := r.Annotations["runbook"]; !hasSuffixAny(rb, runbooks) {
		t.Errorf("%s: runbook %q does not point at a README runbook section %v", r.Alert, rb, runbooks)
	}
}

func hasSuffixAny(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

// loadDashboard decodes dashboard.json and checks its shape; it returns the PromQL
// expressions by "panel title/refId" (and "variable name" for template queries).
func loadDashboard(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("dashboard: title %q, uid %q, schemaVersion %d (want ≥ 36)", d.Title, d.UID, d.SchemaVersion)
	}
	exprs := map[string]string{}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Name == "datasource" {
			hasDS = true
		}
		if v.Type == "query" {
			exprs["variable "+v.Name] = v.Definition
		}
	}
	if !hasDS {
		t.Error("dashboard: no datasource variable named datasource")
	}
	ids := map[int]bool{}
	walkPanels(t, d.Panels, ids, exprs)
	return exprs
}

func walkPanels(t *testing.T, ps []panel, ids map[int]bool, exprs map[string]string) {
	t.Helper()
	for _, p := range ps {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		walkPanels(t, p.Panels, ids, exprs)
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource must be the ${datasource} variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries", p.Title)
		}
		for _, tg := range p.Targets {
			exprs[p.Title+"/"+tg.RefID] = tg.Expr
		}
	}
}
