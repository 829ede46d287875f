package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOrgs(t *testing.T) {
	got, err := ParseOrgs([]byte("# partner clients\nORG_A\n\n  ORG_B  key#1   # own key\nORG-c_3\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []OrgEntry{{UUID: "ORG_A"}, {UUID: "ORG_B", APIKey: "key#1"}, {UUID: "ORG-c_3"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
	_, err = ParseOrgs([]byte("ORG_A\nORG_A\nbad.org\nA b c\n"))
	for _, w := range []string{"line 2: org ORG_A listed twice", `line 3: "bad.org" is not an org uuid`, "line 4: want ORG_UUID [API_KEY]"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestMultiOrgConfig(t *testing.T) {
	dir := t.TempDir()
	orgs := filepath.Join(dir, "orgs")
	secrets := filepath.Join(dir, "secrets")
	if err := os.WriteFile(orgs, []byte("ORG_A\nORG_B k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secrets, []byte("ORG_A s1,s2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "RHOMBUS_ORGS": "ORG_C, ORG_D", "RHOMBUS_ORGS_FILE": orgs,
		"RHOMBUS_AUTH_SCHEME": "partner-api-token", "WEBHOOK_SECRETS_FILE": secrets})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Rhombus.MultiOrg() || len(c.Rhombus.Orgs) != 2 || !c.Webhook.WebhookOn() {
		t.Fatalf("multi-org config not read: %+v %+v", c.Rhombus, c.Webhook)
	}
	base := c.env
	for _, tc := range []struct {
		name string
		edit func(r *raw)
		want string
	}{
		{"single org uuid", func(r *raw) { r.Orgs, r.OrgUUID = "ORG_A", "X" }, "exclude RHOMBUS_ORG_UUID"},
		{"bad uuid", func(r *raw) { r.Orgs = "ORG_A,no/slash" }, `"no/slash" is not an org uuid`},
		{"missing file", func(r *raw) { r.OrgsFile = filepath.Join(dir, "none") }, "RHOMBUS_ORGS_FILE: read:"},
		{"few slots", func(r *raw) { r.Orgs, r.Lease, r.KafkaBrokers, r.KafkaShardSlots = "ORG_A", "kafka", "k:9092", "8" }, "KAFKA_SHARD_SLOTS"},
		{"single secret", func(r *raw) { r.Orgs, r.WebhookSecret = "ORG_A", "s" }, "use WEBHOOK_SECRETS_FILE"},
		{"secrets file alone", func(r *raw) { r.WebhookSecretsFile = secrets }, "only with many organisations"},
	} {
		r := base
		r.Orgs, r.OrgsFile, r.WebhookSecretsFile = "", "", ""
		tc.edit(&r)
		if _, err := parse(r, ModeRun); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v lacks %q", tc.name, err, tc.want)
		}
	}
}
