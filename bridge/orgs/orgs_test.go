package orgs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomic, as a ConfigMap update is
		t.Fatal(err)
	}
}

func TestSourceFollowsFiles(t *testing.T) {
	dir := t.TempDir()
	of, sf := filepath.Join(dir, "orgs"), filepath.Join(dir, "secrets")
	write(t, of, "ORG_B own-key\n")
	write(t, sf, "ORG_A s1,s2\n")
	src := NewSource(config.Rhombus{Orgs: []string{"ORG_A", "ORG_B"}, OrgsFile: of}, sf, 10*time.Millisecond, nil)
	set, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := set.UUIDs(); !slices.Equal(got, []string{"ORG_A", "ORG_B"}) {
		t.Fatalf("uuids %v", got)
	}
	if b, _ := set.Find("ORG_B"); b.APIKey != "own-key" {
		t.Fatalf("file key not used: %+v", b)
	}
	if a, _ := set.Find("ORG_A"); !slices.Equal(a.Secrets, []string{"s1", "s2"}) {
		t.Fatalf("secrets not joined: %+v", a)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan Set, 8)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(s Set) { changes <- s }) }()

	write(t, of, "ORG_B own-key\nORG_C\n")
	if got := next(t, changes).UUIDs(); !slices.Equal(got, []string{"ORG_A", "ORG_B", "ORG_C"}) {
		t.Fatalf("after adding ORG_C: %v", got)
	}
	write(t, of, "ORG_C\nnot/an/org\n") // refused: the last good list stays
	write(t, of, "ORG_C\n")
	set = next(t, changes)
	if got := set.UUIDs(); !slices.Equal(got, []string{"ORG_A", "ORG_B", "ORG_C"}) {
		t.Fatalf("after removing ORG_B from the file (it stays in RHOMBUS_ORGS): %v", got)
	}
	if b, _ := set.Find("ORG_B"); b.APIKey != "" {
		t.Fatalf("ORG_B keeps the file's key after leaving the file: %+v", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, c <-chan Set) Set {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no change noticed within 10s")
		return nil
	}
}
