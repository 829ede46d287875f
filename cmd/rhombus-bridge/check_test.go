package main

import (
	"context"
	"fmt"
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

// checkRejects are the settings the issue found `check` accepting although the bridge then
// fails or misbehaves (issue 11, item 7), and the start of the line each must produce.
var checkRejects = []struct{ name, value, want string }{
	{"KAFKA_BROKERS", "localhost", `KAFKA_BROKERS: "localhost" is not host:port`},
	{"NATS_URL", "garbage", `NATS_URL: "garbage" has no scheme; want nats://, tls://, ws:// or wss://`},
	{"NATS_URL", "nats://user:Pa55word@", `NATS_URL: "nats://***@" has no host`},
	{"RHOMBUS_REST_RATE", "NaN", `RHOMBUS_REST_RATE: "NaN" is not a positive number`},
	{"RHOMBUS_REST_RATE", "Inf", `RHOMBUS_REST_RATE: "Inf" is not a positive number`},
	{"WEBHOOK_SECRET", ",", "WEBHOOK_SECRET: set but holds no secret"},
	{"BRIDGE_SPOOL_MAX_BYTES", "100", "BRIDGE_SPOOL_MAX_BYTES: 100 is below the spool's minimum"},
	{"BRIDGE_BUFFER_EVENTS", "4000000000", "BRIDGE_BUFFER_EVENTS: 4000000000 is above the maximum"},
	{"WEBHOOK_MAX_BYTES", "50000000000000", "WEBHOOK_MAX_BYTES: 50000000000000 is above the maximum 524288"},
	{"WEBHOOK_CONCURRENCY", "1000000", "WEBHOOK_CONCURRENCY: 1000000 is above the maximum"},
	{"WEBHOOK_ACK_TIMEOUT", "5h", "WEBHOOK_ACK_TIMEOUT: 5h0m0s is above the maximum"},
	{"NATS_STREAM_MAX_BYTES", "10", "NATS_STREAM_MAX_BYTES: 10 is below the minimum"},
	{"HTTP_PPROF", "yes please", `HTTP_PPROF: "yes please" is not true or false`},
}

// TestCheckRejectsEachSetting: `check` exits 1 with one line naming the variable, and leaks
// no password.
func TestCheckRejectsEachSetting(t *testing.T) {
	for _, tc := range checkRejects {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Setenv("RHOMBUS_API_KEY", "k")
			t.Setenv(tc.name, tc.value)
			var out, errOut syncBuffer
			if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 1 {
				t.Fatalf("check exited %d:\n%s", code, out.String())
			}
			lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], "(1 problems)") || !strings.HasPrefix(lines[1], tc.want) {
				t.Fatalf("want a heading and one line starting %q, got:\n%s", tc.want, errOut.String())
			}
			if strings.Contains(errOut.String(), "Pa55word") || strings.Contains(out.String(), "configuration OK") {
				t.Fatalf("check output:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}

// TestCheckListsAllRejected: with every bad setting at once, `check` lists each of them.
func TestCheckListsAllRejected(t *testing.T) {
	t.Setenv("RHOMBUS_API_KEY", "k")
	seen := map[string]bool{}
	for _, tc := range checkRejects {
		if !seen[tc.name] {
			seen[tc.name] = true
			t.Setenv(tc.name, tc.value)
		}
	}
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 1 {
		t.Fatalf("check exited %d", code)
	}
	s := errOut.String()
	if !strings.Contains(s, fmt.Sprintf("(%d problems)", len(seen))) {
		t.Errorf("want %d problems:\n%s", len(seen), s)
	}
	for name := range seen {
		if !strings.Contains(s, "\n"+name+": ") {
			t.Errorf("no line for %s:\n%s", name, s)
		}
	}
}
