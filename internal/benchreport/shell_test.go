package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The command line in the report runs verbatim in a shell: a pattern with | or ^$ is quoted.
func TestShellJoinRoundTrips(t *testing.T) {
	args := []string{"test", "-run", "^$", "-bench", "Parse|Resubscribe", "-benchtime", "20x", "it's", "./bridge/rhombus"}
	line := shellJoin(args)
	if want := `test -run '^$' -bench 'Parse|Resubscribe' -benchtime 20x 'it'\''s' ./bridge/rhombus`; line != want {
		t.Fatalf("shellJoin = %s, want %s", line, want)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := exec.Command(sh, "-c", `for a in `+line+`; do printf '%s\n' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); strings.Join(got, "\x00") != strings.Join(args, "\x00") {
		t.Fatalf("the shell read back %q, want %q", got, args)
	}
}
