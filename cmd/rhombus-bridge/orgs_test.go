package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckOrgList: in partner mode `check` validates the org list (RHOMBUS_ORGS and every
// line of RHOMBUS_ORGS_FILE) and summarises it; a bad line fails with its number.
func TestCheckOrgList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "orgs")
	if err := os.WriteFile(file, []byte("# clients\nORG_B own-key\nORG_C\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RHOMBUS_API_KEY", "partner")
	t.Setenv("RHOMBUS_AUTH_SCHEME", "partner-api-token")
	t.Setenv("RHOMBUS_ORGS", "ORG_A")
	t.Setenv("RHOMBUS_ORGS_FILE", file)
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 0 {
		t.Fatalf("check exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "partner mode: 3 orgs (1 with their own API key, 0 with webhook secrets)") {
		t.Errorf("check output lacks the org summary:\n%s", out.String())
	}
	if strings.Contains(out.String(), "own-key") {
		t.Errorf("check output shows an org's key:\n%s", out.String())
	}
	if err := os.WriteFile(file, []byte("ORG_B\nnot/an/org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `RHOMBUS_ORGS_FILE: line 2: "not/an/org" is not an org uuid`) {
		t.Fatalf("check exited %d with:\n%s", code, errOut.String())
	}
}
