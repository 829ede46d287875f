package main

import (
	"context"
	"strings"
	"testing"
)

// TestCheckRedactsURLPasswords: `check` hides the user-info of NATS_URL (and the Rhombus
// URLs) but keeps the host, so the output can be pasted into a ticket.
func TestCheckRedactsURLPasswords(t *testing.T) {
	t.Setenv("RHOMBUS_API_KEY", "k")
	t.Setenv("NATS_URL", "nats://bridge:Sup3rS3cret@127.0.0.1:4222,tls://tok3nvalue@127.0.0.1:4223")
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 0 {
		t.Fatalf("check exited %d: %s", code, errOut.String())
	}
	s := out.String() + errOut.String()
	for _, leak := range []string{"Sup3rS3cret", "tok3nvalue", "bridge:"} {
		if strings.Contains(s, leak) {
			t.Errorf("check output shows %q:\n%s", leak, s)
		}
	}
	if !strings.Contains(s, "NATS_URL=nats://***@127.0.0.1:4222,tls://***@127.0.0.1:4223\n") {
		t.Errorf("check output lacks the redacted NATS_URL:\n%s", s)
	}
}
