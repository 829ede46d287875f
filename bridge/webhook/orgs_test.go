package webhook_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// TestOrgRoutes: in partner mode each org's webhooks are posted to {path}/{org} and
// verified with that org's secrets only; the event carries that org.
func TestOrgRoutes(t *testing.T) {
	routes := webhook.NewOrgRoutes()
	e := newEnv(t, func(c *webhook.Config) { c.Secrets, c.OrgUUID, c.Orgs = nil, nil, routes })
	routes.Set(map[string]webhook.OrgRoute{
		"ORG_A": {Secrets: []string{"secret-a"}, Pub: e.sink},
		"ORG_B": {Secrets: []string{"secret-b1", "secret-b2"}, Pub: e.sink},
		"ORG_C": {Pub: e.sink}, // no secret: not served
	})
	base := strings.TrimSuffix(e.url, webhook.DefaultPath) + webhook.DefaultPath
	for _, c := range []struct {
		path, secret string
		want         int
	}{
		{"/ORG_A", "secret-a", http.StatusOK},
		{"/ORG_B", "secret-b2", http.StatusOK},
		{"/ORG_A", "secret-b1", http.StatusUnauthorized}, // another org's secret
		{"/ORG_C", "x", http.StatusNotFound},
		{"/ORG_Z", "secret-a", http.StatusNotFound},
		{"", "secret-a", http.StatusNotFound}, // the bare path names no org
		{"/ORG_A/x", "secret-a", http.StatusNotFound},
	} {
		body := alertBody("ALERT" + strings.ReplaceAll(c.path, "/", "_"))
		resp, text := post(t, base+c.path, body, map[string]string{webhook.HeaderSHA1: sign1(c.secret, body)})
		if resp.StatusCode != c.want {
			t.Errorf("%s with %s: %d %q, want %d", c.path, c.secret, resp.StatusCode, text, c.want)
		}
	}
	subjects := map[string]bool{}
	for _, m := range messages(t, e.nats.URL()) {
		subjects[strings.Split(m.Subject, ".")[2]] = true
	}
	if len(subjects) != 2 || !subjects["ORG_A"] || !subjects["ORG_B"] {
		t.Fatalf("events stored under orgs %v, want ORG_A and ORG_B", subjects)
	}
	routes.Set(nil) // the org list changed: nothing served
	body := alertBody("ALERT_LATE")
	if resp, _ := post(t, base+"/ORG_A", body, map[string]string{webhook.HeaderSHA1: sign1("secret-a", body)}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after the routes were cleared: %d, want 404", resp.StatusCode)
	}
}
