package rhombus

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// Each fault kind ends the subscription with its own cause, is counted, and is followed by
// a new subscription on which events flow again.
func TestFaultsReconnectAndResubscribe(t *testing.T) {
	faults := []struct {
		name  string
		cause Cause
		do    func(s *sim.Server)
	}{
		{"drop", CauseAbrupt, func(s *sim.Server) { s.DropConnections() }},
		{"reset", CauseAbrupt, func(s *sim.Server) { s.ResetConnections() }},
		{"close_frame", CauseClose, func(s *sim.Server) { s.CloseFrame() }},
		{"stomp_error", CauseStompErr, func(s *sim.Server) { s.SendError("simulated failure") }},
		{"silent", CauseHeartbeat, func(s *sim.Server) { s.GoSilent(true) }},
	}
	s := startSim(t, sim.Config{Heartbeat: 500 * time.Millisecond, Framing: sim.FramePacked})
	sub, rec, _, stop := runFeed(t, s, func(c *FeedConfig) { c.Heartbeat = 500 * time.Millisecond })
	waitSimSubs(t, s, 1)
	rec.waitFor(t, 10*time.Second, "first subscription", func(r *recorder) bool { return len(r.subs) == 1 })
	for i, f := range faults {
		for rep := 0; rep < 2; rep++ {
			subs, _, downs := rec.counts()
			f.do(s)
			rec.waitFor(t, 10*time.Second, f.name+" disconnect", func(r *recorder) bool { return len(r.causes) > downs })
			rec.waitFor(t, 10*time.Second, f.name+" resubscribe", func(r *recorder) bool { return len(r.subs) > subs })
			rec.mu.Lock()
			got := rec.causes[downs]
			info := rec.subs[subs]
			rec.mu.Unlock()
			if CauseOf(got) != f.cause {
				t.Fatalf("%s: cause %q (%v), want %q", f.name, CauseOf(got), got, f.cause)
			}
			if info.PrevCause != got {
				t.Fatalf("%s: SubscribeInfo.PrevCause %v, want %v", f.name, info.PrevCause, got)
			}
			waitSimSubs(t, s, 1)
			_, msgs, _ := rec.counts()
			s.Emit([]byte(fmt.Sprintf(`{"entity":"X","n":%d}`, i)))
			rec.waitFor(t, 10*time.Second, f.name+" event after resubscribe", func(r *recorder) bool { return len(r.bodies) > msgs })
		}
		if got := counterValue(t, sub.m.disconnects.WithLabelValues(string(f.cause))); got < 2 {
			t.Fatalf("%s: disconnects_total{cause=%q} = %v, want ≥ 2", f.name, f.cause, got)
		}
	}
	if st := sub.State(); !st.Subscribed || st.Reconnects != int64(2*len(faults)) {
		t.Fatalf("state %+v; want subscribed with %d reconnects", st, 2*len(faults))
	}
	if got := counterValue(t, sub.m.reconnects); got != float64(2*len(faults)) {
		t.Fatalf("reconnects_total %v", got)
	}
	if got := counterValue(t, sub.m.subscribed); got != 1 {
		t.Fatalf("subscribed gauge %v", got)
	}
	stop()
	if got := counterValue(t, sub.m.subscribed); got != 0 {
		t.Fatalf("subscribed gauge %v after stop", got)
	}
}

// A half-open connection (TCP up, nothing arriving, even while pings are answered) is
// declared dead within 2 × the negotiated server heart-beat + 1 s.
func TestHalfOpenDetected(t *testing.T) {
	for _, pongs := range []bool{false, true} {
		t.Run(fmt.Sprintf("pongs=%v", pongs), func(t *testing.T) {
			const hb = 700 * time.Millisecond
			s := startSim(t, sim.Config{Heartbeat: hb})
			s.SetSilentPongs(pongs)
			_, rec, _, _ := runFeed(t, s, func(c *FeedConfig) { c.Heartbeat = hb; c.PingInterval = 100 * time.Millisecond })
			waitSimSubs(t, s, 1)
			time.Sleep(hb) // let heart-beats flow a while first
			silentAt := time.Now()
			s.GoSilent(true)
			rec.waitFor(t, 10*time.Second, "disconnect", func(r *recorder) bool { return len(r.causes) > 0 })
			rec.mu.Lock()
			cause, at := rec.causes[0], rec.downAt[0]
			rec.mu.Unlock()
			took := at.Sub(silentAt)
			t.Logf("half-open detected after %s (heart-beat %s, bound %s)", took, hb, 2*hb+time.Second)
			if !errors.Is(cause, ErrHeartbeatTimeout) || CauseOf(cause) != CauseHeartbeat {
				t.Fatalf("cause %v, want heart-beat timeout", cause)
			}
			// Bound: 2×hb + 1 s, plus 300 ms of slack for -race on a shared machine.
			if limit := 2*hb + time.Second + 300*time.Millisecond; took > limit {
				t.Fatalf("half-open detected after %s, limit %s", took, limit)
			}
			rec.waitFor(t, 10*time.Second, "resubscribe", func(r *recorder) bool { return len(r.subs) >= 2 })
		})
	}
}

// Refused handshakes (503 twice) after a drop: the first reconnect is immediate (the
// dropped subscription had been accepted), the refusals are counted by status and retried
// no sooner than 1 s apart, then the feed subscribes again.
func TestRefusedHandshakesThenRecover(t *testing.T) {
	s := startSim(t, sim.Config{})
	sub, rec, _, _ := runFeed(t, s, nil)
	waitSimSubs(t, s, 1)
	// The subscription counts as accepted on the server's RECEIPT, which may trail the
	// simulator's registration: drop it only once the feed saw it accepted.
	rec.waitFor(t, 10*time.Second, "accepted", func(r *recorder) bool { return len(r.subs) >= 1 })
	s.RefuseHandshakes(503, 2)
	hs := len(s.HandshakeTimes())
	s.DropConnections()
	rec.waitFor(t, 20*time.Second, "resubscribe", func(r *recorder) bool { return len(r.subs) >= 2 })
	rec.mu.Lock()
	causes := append([]error(nil), rec.causes...)
	rec.mu.Unlock()
	if len(causes) != 3 || CauseOf(causes[0]) != CauseAbrupt {
		t.Fatalf("causes %v; want abrupt close then 2 refusals", causes)
	}
	times := s.HandshakeTimes()[hs:]
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < time.Second {
			t.Errorf("handshake %d came %v after a refused one; want ≥ 1 s", i, gap)
		}
	}
	for _, c := range causes[1:] {
		var he *HandshakeError
		if !errors.As(c, &he) || he.Status != 503 {
			t.Fatalf("cause %v; want HandshakeError 503", c)
		}
	}
	if got := counterValue(t, sub.m.handshake.WithLabelValues("503")); got != 2 {
		t.Fatalf("handshake_failures_total{status=503} = %v", got)
	}
}

// Measures fault → next SUBSCRIBE (as the simulator sees it) per fault kind. Figures,
// not asserts.
func BenchmarkResubscribe(b *testing.B) {
	kinds := []struct {
		name string
		do   func(s *sim.Server)
	}{
		{"abrupt_close", func(s *sim.Server) { s.DropConnections() }},
		{"tcp_reset", func(s *sim.Server) { s.ResetConnections() }},
		{"close_frame", func(s *sim.Server) { s.CloseFrame() }},
		{"stomp_error", func(s *sim.Server) { s.SendError("bench") }},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s := startSim(b, sim.Config{})
			_, rec, _, stop := runFeed(b, s, func(c *FeedConfig) { c.ReconnectBudget = 1 << 30 }) // measure, not budget
			defer stop()
			waitSimSubs(b, s, 1)
			var d []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				before := len(s.SubscribeTimes())
				at := time.Now()
				k.do(s)
				rec.waitFor(b, 10*time.Second, "resubscribe", func(*recorder) bool { return len(s.SubscribeTimes()) > before })
				d = append(d, s.SubscribeTimes()[before].Sub(at))
				waitSimSubs(b, s, 1)
			}
			b.StopTimer()
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "max_ms")
		})
	}
}
