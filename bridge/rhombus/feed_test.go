package rhombus

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNegotiate(t *testing.T) {
	s := time.Second
	cases := []struct{ cx, cy, sx, sy, send, recv time.Duration }{
		{10 * s, 10 * s, 5 * s, 20 * s, 20 * s, 10 * s},
		{0, 10 * s, 5 * s, 5 * s, 0, 10 * s},  // we send none
		{10 * s, 10 * s, 0, 5 * s, 10 * s, 0}, // server sends none: no read window from heart-beats
		{10 * s, 0, 5 * s, 5 * s, 10 * s, 0},  // we want none though the server offers
		{s, s, 0, 0, 0, 0},
	}
	for _, c := range cases {
		send, recv := Negotiate(c.cx, c.cy, c.sx, c.sy)
		if send != c.send || recv != c.recv {
			t.Errorf("Negotiate(%v,%v,%v,%v) = %v,%v; want %v,%v", c.cx, c.cy, c.sx, c.sy, send, recv, c.send, c.recv)
		}
	}
}

// Every framing the simulator has (one frame per message, packed several to a message,
// split across messages, preceded by EOLs, and their combinations) yields every body once,
// in order.
func TestFramingModes(t *testing.T) {
	modes := []sim.Framing{0, sim.FramePacked, sim.FrameSplit, sim.FrameLeadingEOL,
		sim.FramePacked | sim.FrameSplit | sim.FrameLeadingEOL}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			s := startSim(t, sim.Config{Framing: mode, Seed: 7})
			_, rec, _, stop := runFeed(t, s, nil)
			waitSimSubs(t, s, 1)
			const n = 300
			for i := 0; i < n; i++ {
				body := fmt.Sprintf(`{"entity":"DEVICE_CONFIG","entityUuid":"d%d","pad":"%s"}`, i, strings.Repeat("x", i%700))
				s.Emit([]byte(body))
			}
			rec.waitFor(t, 10*time.Second, "all messages", func(r *recorder) bool { return len(r.bodies) >= n })
			// Before it waits for the socket again, the subscriber flushes what it passed on.
			rec.waitFor(t, 10*time.Second, "a flush after the last message", func(r *recorder) bool { return r.flushed == n })
			stop()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.bodies) != n {
				t.Fatalf("got %d bodies, want %d", len(rec.bodies), n)
			}
			for i, b := range rec.bodies {
				if !strings.HasPrefix(string(b), fmt.Sprintf(`{"entity":"DEVICE_CONFIG","entityUuid":"d%d"`, i)) {
					t.Fatalf("body %d out of order or damaged: %.60q", i, b)
				}
			}
			if len(rec.causes) != 1 || CauseOf(rec.causes[0]) != CauseShutdown {
				t.Fatalf("want exactly one shutdown disconnect, got %v", rec.causes)
			}
		})
	}
}

// A wrong API key: a *HandshakeError naming 401 and the body, counted, and attempts no
// sooner than 1 s apart (RefusedBackoff; the old policy retried after 77 ms).
func TestWrongKeyBacksOff(t *testing.T) {
	s := startSim(t, sim.Config{})
	sub, rec, _, stop := runFeed(t, s, func(c *FeedConfig) { c.APIKey, c.BackoffMax = "wrong", 30*time.Second })
	rec.waitFor(t, 20*time.Second, "three refusals", func(r *recorder) bool { return len(r.causes) >= 3 })
	stop()
	times := s.HandshakeTimes()
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < time.Second {
			t.Fatalf("handshake %d came %v after the refused one before it; want ≥ 1 s", i, gap)
		}
	}
	// Delays are drawn from [1,2), [2,4), [4,8) s: the third refusal comes 3 s after the
	// first at the earliest.
	if d := times[2].Sub(times[0]); d < 3*time.Second {
		t.Fatalf("third handshake %v after the first; want ≥ 3 s (doubling backoff)", d)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var he *HandshakeError
	if !errors.As(rec.causes[0], &he) || he.Status != 401 || !strings.Contains(he.Body, "Unauthorized") {
		t.Fatalf("want *HandshakeError 401 with the body, got %v", rec.causes)
	}
	// The simulator counts a 401 when it writes it; the client when it reads it. Cancelling
	// can fall between the two for the very last attempt, and only for that one.
	n := s.Stats().Unauthorized
	if got := int(counterValue(t, sub.m.handshake.WithLabelValues("401"))); got != n && got != n-1 {
		t.Fatalf("handshake failures metric %d, simulator saw %d", got, n)
	}
	if len(rec.subs) != 0 || sub.State().Subscribed {
		t.Fatal("subscribed with a wrong key")
	}
	if st := sub.State(); st.LastCause != string(CauseRefused) || !strings.Contains(st.LastError, "401") {
		t.Fatalf("state does not name the refusal: %+v", st)
	}
}
