package nogaps

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// The storm of issue 12: ~250 events/s for ~20 s, a socket fault ~1.5 s after every
// resubscribe (abrupt close, close 1001, STOMP ERROR in turn), and REST answering 20 % of
// calls 429 with Retry-After: 1 and 5 % 503.
const (
	stormLength   = 20 * time.Second
	stormRate     = 250
	faultAfter    = 1500 * time.Millisecond
	stormPageSize = 500 // the client's maxResults (rhombus.ClientConfig.PageSize default)
)

// TestStormBackfillFetchesOnce: after the storm every alert is in the stream (exactly
// once) within 10 s of the feed being back, and backfill asked getPolicyAlertsV2 for at
// most 1.5 × the minimum number of pages: ceil(alerts / maxResults) per window, the gap
// windows [start − overlap, end] merged where they overlap. Calls answered 429/503 by the
// fault injector are counted apart (a fixed quarter of all calls). The time is measured
// from the subscription after the last fault, so the reconnect policy does not count.
func TestStormBackfillFetchesOnce(t *testing.T) {
	ns := natstest.Start(t)
	// Rhombus's page cap is undocumented; the minimum is in pages of maxResults, so the
	// simulator serves as many as are asked.
	s := bridgetest.StartSim(t, sim.Config{APIKey: apiKey, OrgUUID: "ORG-STORM", QueueSize: 1 << 16,
		RESTPageCap: stormPageSize})
	rest := newFaultyREST(t, s.URL())
	cfg := baseConfig(t, s, ns.URL(), "storm-1")
	cfg.Rhombus.APIURL = rest.srv.URL
	cfg.Rhombus.RESTRate = 5 // RHOMBUS_REST_RATE's default
	b := startBridge(t, cfg)
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	stopGen := generate(t, s, stormRate)
	faults, lastFault := socketStorm(t, s)
	stopGen()
	resub := subscriptionAfter(t, s, lastFault)
	want := alertIDs(s.Alerts())
	c := newCollector(t, ns.URL())
	if !eventually(60*time.Second, func() bool { return c.has(want) }) {
		t.Fatalf("not every alert reached the stream within 60 s of the storm")
	}
	done := c.storedAt(t, want)
	waitFor(t, "no open gap", 60*time.Second, func() bool {
		st := b.status(t)
		return st.Subscribed && (len(st.OpenGap) == 0 || string(st.OpenGap) == "null")
	})
	c.mustSync(t)
	if r := c.check(want); !r.ok() {
		t.Errorf("alerts not exactly once: %s", r)
	}
	pages, failed := rest.count("/api/event/getPolicyAlertsV2")
	minimum := minimumPages(c.gaps, s.Alerts(), cfg.Bridge.BackfillOverlap)
	t.Logf("storm: %d faults, %d alerts, %d gap records; all alerts in the stream %s after the last fault, %s after the "+
		"feed was back", faults, len(want), len(c.gaps), done.Sub(lastFault).Round(time.Millisecond),
		done.Sub(resub).Round(time.Millisecond))
	t.Logf("getPolicyAlertsV2: %d pages answered + %d answered 429/503 = %d calls; minimum %d pages",
		pages, failed, pages+failed, minimum)
	if d := done.Sub(resub); d > 10*time.Second {
		t.Errorf("the last alert reached the stream %s after the feed was back, want ≤ 10 s", d)
	}
	if minimum == 0 || float64(pages) > 1.5*float64(minimum) {
		t.Errorf("%d pages for a minimum of %d: want ≤ 1.5 × the minimum", pages, minimum)
	}
}

// socketStorm injects a socket fault faultAfter after every resubscribe for stormLength and
// returns how many it injected and when the last one came.
func socketStorm(t *testing.T, s *sim.Server) (int, time.Time) {
	t.Helper()
	kinds := []func(){func() { s.DropConnections() }, func() { s.CloseFrame() },
		func() { s.SendError("simulated storm") }}
	end := time.Now().Add(stormLength)
	n, last := 0, time.Time{}
	for time.Now().Before(end) {
		time.Sleep(faultAfter)
		subs := subscribes(s)
		kinds[n%len(kinds)]()
		n, last = n+1, time.Now()
		waitFor(t, "resubscribed during the storm", 60*time.Second, func() bool { return subscribes(s) > subs })
	}
	return n, last
}

// storedAt is when the last of ids was stored (JetStream's timestamp of its first copy).
func (c *collector) storedAt(t *testing.T, ids map[string]bool) time.Time {
	t.Helper()
	var last uint64
	for id := range ids {
		if cp := c.byID[id]; len(cp) > 0 {
			last = max(last, cp[0].Seq)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.js.Stream(ctx, "RHOMBUS")
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	return m.Time
}

// subscriptionAfter waits for the first subscription registered after at.
func subscriptionAfter(t *testing.T, s *sim.Server, at time.Time) time.Time {
	t.Helper()
	var got time.Time
	// Up to the reconnect budget's window (20 a minute) plus its jitter and a connect: on
	// a loaded machine, late heart-beats add reconnects to the storm's and the budget can
	// make the last one wait for the oldest to leave the window.
	waitFor(t, "resubscribed after the storm", 90*time.Second, func() bool {
		ts := s.SubscribeTimes()
		if len(ts) > 0 && ts[len(ts)-1].After(at) {
			got = ts[len(ts)-1]
		}
		return !got.IsZero()
	})
	return got
}

// minimumPages is Σ ceil(alerts in window / maxResults) over the gap windows
// [start − overlap, end], merged where they overlap.
func minimumPages(gaps []v1.GapData, alerts []sim.Alert, overlap time.Duration) int {
	type win struct{ lo, hi int64 }
	var ws []win
	for _, g := range gaps {
		ws = append(ws, win{g.StartMs - overlap.Milliseconds(), g.EndMs})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].lo < ws[j].lo })
	var merged []win
	for _, w := range ws {
		if n := len(merged); n > 0 && w.lo <= merged[n-1].hi {
			merged[n-1].hi = max(merged[n-1].hi, w.hi)
			continue
		}
		merged = append(merged, w)
	}
	total := 0
	for _, w := range merged {
		n := 0
		for _, a := range alerts {
			if a.TimestampMs >= w.lo && a.TimestampMs <= w.hi {
				n++
			}
		}
		total += (n + stormPageSize - 1) / stormPageSize
	}
	return total
}

// faultyREST is a reverse proxy in front of the simulator's REST API that answers, per
// path, 4 calls in 20 with 429 + Retry-After: 1 and 1 in 20 with 503, in a fixed pattern,
// and counts the calls.
type faultyREST struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  map[string]int // path → calls
	failed map[string]int // path → calls answered 429/503
}

func newFaultyREST(t *testing.T, target string) *faultyREST {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyREST{calls: map[string]int{}, failed: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch f.next(r.URL.Path) % 20 {
		case 4, 9, 14, 19:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many api requests. Enhance your calm.", http.StatusTooManyRequests)
		case 11:
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// next counts a call to path and returns its number (from 0); a fault is counted failed.
func (f *faultyREST) next(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls[path]
	f.calls[path]++
	if m := n % 20; m == 4 || m == 9 || m == 14 || m == 19 || m == 11 {
		f.failed[path]++
	}
	return n
}

// count returns the calls to path answered by the simulator and those answered with a fault.
func (f *faultyREST) count(path string) (answered, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path] - f.failed[path], f.failed[path]
}
