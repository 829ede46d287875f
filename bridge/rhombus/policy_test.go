package rhombus

import (
	"errors"
	"testing"
	"time"
)

func testPolicy() *reconnectPolicy {
	cfg := FeedConfig{}
	cfg.BackoffBase, cfg.BackoffMax, cfg.RefusedBackoff, cfg.ReconnectBudget = 100*time.Millisecond, 30*time.Second, time.Second, 20
	return newReconnectPolicy(cfg)
}

// After accepted subscriptions the reconnect is immediate, 20 times a minute; the 21st
// waits until the first leaves the minute, plus at most one budget interval (3 s) of
// jitter; once the minute has passed, reconnects are immediate again.
func TestReconnectBudget(t *testing.T) {
	p := testPolicy()
	t0 := time.Now()
	lost := &DisconnectError{Cause: CauseAbrupt}
	for i := range 20 {
		if wait, budget := p.next(true, lost, t0.Add(time.Duration(i)*time.Second)); wait != 0 || budget {
			t.Fatalf("reconnect %d waits %v", i+1, wait)
		}
	}
	now := t0.Add(20 * time.Second)
	wait, budget := p.next(true, lost, now)
	if earliest := 40 * time.Second; !budget || wait < earliest || wait >= earliest+3*time.Second {
		t.Fatalf("21st reconnect waits %v (budget %v); want [40 s, 43 s)", wait, budget)
	}
	if wait, _ := p.next(true, lost, t0.Add(2*time.Minute+time.Hour)); wait != 0 {
		t.Fatalf("after a quiet hour the reconnect waits %v", wait)
	}
}

// Failures to connect back off with full jitter from the base; refusals (a handshake
// answered with an HTTP error, an ERROR before the subscription was accepted) from 1 s,
// never sooner, doubling; an accepted subscription resets both.
func TestBackoffOnFailuresAndRefusals(t *testing.T) {
	p := testPolicy()
	now := time.Now()
	if wait, _ := p.next(false, &DisconnectError{Cause: CauseDial, Err: errors.New("refused")}, now); wait >= 100*time.Millisecond {
		t.Fatalf("first dial failure waits %v; want < 100 ms", wait)
	}
	refusals := []error{
		&HandshakeError{Status: 401},
		&DisconnectError{Cause: CauseStompErr, Err: &StompError{During: "CONNECT"}},
		&DisconnectError{Cause: CauseStompErr, Err: &StompError{During: "SUBSCRIBE"}},
	}
	lo := time.Second
	for _, r := range refusals {
		wait, _ := p.next(false, r, now)
		if wait < lo || wait >= 2*lo {
			t.Fatalf("after %v: wait %v, want [%v, %v)", r, wait, lo, 2*lo)
		}
		lo *= 2
	}
	p.next(true, &DisconnectError{Cause: CauseAbrupt}, now)
	if wait, _ := p.next(false, refusals[0], now); wait < time.Second || wait >= 2*time.Second {
		t.Fatalf("after an accepted subscription the refusal backoff did not start over: %v", wait)
	}
	if !refusal(refusals[1]) || refusal(&DisconnectError{Cause: CauseStompErr, Err: &StompError{}}) {
		t.Fatal("an ERROR after the subscription was accepted is not a refusal")
	}
}
