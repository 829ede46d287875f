package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestMultiRoutesByOrg(t *testing.T) {
	orgs := OrgUUIDs(1, 2)
	m, err := StartMulti(MultiConfig{PartnerKey: "partner"}, "127.0.0.1:0", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.AddOrg("OWNKEYORG", "own-key"); err != nil {
		t.Fatal(err)
	}
	getOrg := func(key, scheme, org string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/org/getOrgV2", strings.NewReader("{}"))
		req.Header.Set("x-auth-apikey", key)
		req.Header.Set("x-auth-scheme", scheme)
		req.Header.Set("Content-Type", "application/json")
		if org != "" {
			req.Header.Set("x-auth-org", org)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Org struct{ UUID string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Org.UUID
	}
	for _, org := range orgs {
		if code, got := getOrg("partner", "partner-api-token", org); code != 200 || got != org {
			t.Errorf("partner token for %s: %d %q", org, code, got)
		}
	}
	if code, got := getOrg("own-key", "api-token", ""); code != 200 || got != "OWNKEYORG" {
		t.Errorf("own key: %d %q", code, got)
	}
	for _, c := range []struct{ key, scheme, org string }{
		{"partner", "partner-api-token", ""},     // no org
		{"partner", "api-token", orgs[0]},        // wrong scheme
		{"wrong", "partner-api-token", orgs[0]},  // wrong key
		{"partner", "partner-api-token", "NONE"}, // unknown org
	} {
		if code, _ := getOrg(c.key, c.scheme, c.org); code != http.StatusUnauthorized {
			t.Errorf("%+v: status %d, want 401", c, code)
		}
	}
	m.Revoke(orgs[0])
	if code, _ := getOrg("partner", "partner-api-token", orgs[0]); code != http.StatusUnauthorized {
		t.Errorf("revoked org: status %d, want 401", code)
	}
	if code, _ := getOrg("partner", "partner-api-token", orgs[1]); code != 200 {
		t.Errorf("another org after a revocation: status %d", code)
	}
	resp, err := http.Get(m.URL() + "/_sim/orgs/" + orgs[1] + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("org admin API: status %d", resp.StatusCode)
	}
}
