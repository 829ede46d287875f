package event

import (
	"strings"
	"testing"
)

// The lower-case subject token is the token of strings.ToLower, ASCII or not.
func TestLowerToken(t *testing.T) {
	for _, s := range []string{"", "POLICY_ALERT", "Door.State", "İSTANBUL", "ǅx", "a b\tc", "ÀÉ-9"} {
		var got, want strings.Builder
		writeLowerToken(&got, s)
		writeToken(&want, strings.ToLower(s))
		if got.String() != want.String() {
			t.Errorf("lower token of %q = %q, want %q", s, got.String(), want.String())
		}
	}
}
