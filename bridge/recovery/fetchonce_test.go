package recovery_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// While the first gap's window is being paged, the feed drops again: the new gap starts
// inside that window (its overlap reaches back) and alerts keep coming. The new gap adds
// its own window instead of restarting: the source returns every alert once, the calls
// are one per page of the cap plus one page finding nothing new per window, and each gap
// gets its own record.
func TestNewGapDuringBackfillFetchedOnce(t *testing.T) {
	for _, newest := range []bool{false, true} {
		t.Run(fmt.Sprintf("newestFirst=%v", newest), func(t *testing.T) {
			b, p, wm := runningPipeline(t)
			now := time.Now()
			h := &history{pageCap: 10, newest: newest}
			for i := 0; i < 250; i++ { // now-50s .. now-0.2s
				h.alerts = append(h.alerts, pipetest.Alert(t, "cam", i, now.Add(time.Duration(i-250)*200*time.Millisecond).UnixMilli()))
			}
			var live atomic.Bool
			live.Store(true)
			r := newRecovery(t, recovery.Config{Source: h.source, Settle: time.Millisecond, Overlap: 2 * time.Second,
				Live: live.Load}, p, wm)
			h.onCall = func(n int) {
				if n != 20 { // the 20th page of the first window, which has 25
					return
				}
				dropFeed(t, r, h, &live, now.Add(-20*time.Second), 25)
			}
			closeBothGaps(t, r, h, now)
			minPages := 250/10 + (25+9)/10 // per window, ceil(alerts / page cap)
			if calls := int(h.calls.Load()); calls > minPages+2 {
				t.Errorf("%d getPolicyAlertsV2 calls; the minimum is %d pages (+1 empty page per window)", calls, minPages)
			}
			msgs := b.Stored(t)
			recs := gapRecords(t, msgs)
			if len(msgs) != 275+2 || len(recs) != 2 || recs[0].AlertsRecovered != 250 || recs[1].AlertsRecovered != 25 ||
				recs[1].StartMs != now.Add(-20*time.Second).UnixMilli() || recs[1].EndMs < recs[0].EndMs {
				t.Fatalf("%d messages stored (want 277); gap records %+v", len(msgs), recs)
			}
			t.Logf("%d calls for %d minimum pages", h.calls.Load(), minPages)
		})
	}
}

// Progress is kept page by page: the held watermark follows the pages of an oldest-first
// window, and a failed page is asked again, not the window.
func TestBackfillProgressPerPage(t *testing.T) {
	_, p, wm := runningPipeline(t)
	now := time.Now()
	p.Offer(pipetest.Alert(t, "live", 0, now.UnixMilli()))
	pipetest.WaitFor(t, "the live alert", 10*time.Second, func() bool { return wm.Mark() == now.UnixMilli() })
	h := &history{pageCap: 10}
	for i := 0; i < 200; i++ {
		h.alerts = append(h.alerts, pipetest.Alert(t, "cam", i, now.Add(time.Duration(i-200)*100*time.Millisecond).UnixMilli()))
	}
	var mu sync.Mutex
	var marks []int64
	h.onCall = func(n int) {
		mu.Lock()
		marks = append(marks, wm.Mark())
		mu.Unlock()
		if n == 8 {
			h.fail.Store(1) // this page fails; after the retry paging goes on from it
		}
	}
	r := newRecovery(t, recovery.Config{Source: h.source, Settle: time.Millisecond}, p, wm)
	runRecovery(t, r)
	r.Open("abrupt_close", now.Add(-20*time.Second))
	r.Recover()
	pipetest.WaitFor(t, "gap closed", 20*time.Second, func() bool { return r.OpenGap() == nil })
	if again := h.refetched(); len(again) > 0 {
		t.Errorf("alerts fetched more than once: %v", again)
	}
	mu.Lock()
	defer mu.Unlock()
	moves := 0
	for i := 1; i < len(marks); i++ {
		if marks[i] < marks[i-1] {
			t.Fatalf("watermark went back: %v", marks)
		}
		if marks[i] > marks[i-1] {
			moves++
		}
	}
	if moves < 15 || wm.Mark() != now.UnixMilli() {
		t.Fatalf("watermark moved %d times over %d pages (%v); now %d", moves, len(marks), marks, wm.Mark())
	}
}

// A page fails mid-window and, before the retry, the feed drops and comes back: the
// window resumes at the failed page, and (oldest first) grows over the new gap's window
// so that one run of pages finishes both: no page of its own, no second empty page.
func TestFailedWindowResumesAndGrows(t *testing.T) {
	_, p, wm := runningPipeline(t)
	now := time.Now()
	h := &history{pageCap: 10}
	for i := 0; i < 50; i++ { // now-50s .. now-1s
		h.alerts = append(h.alerts, pipetest.Alert(t, "cam", i, now.Add(time.Duration(i-50)*time.Second).UnixMilli()))
	}
	var live atomic.Bool
	live.Store(true)
	r := newRecovery(t, recovery.Config{Source: h.source, Settle: time.Millisecond, Overlap: 2 * time.Second,
		Live: live.Load}, p, wm)
	h.onCall = func(n int) {
		if n != 3 {
			return
		}
		h.fail.Store(1) // this call fails, after the feed dropped and came back with new alerts
		dropFeed(t, r, h, &live, time.Now(), 15)
	}
	closeBothGaps(t, r, h, now)
	// 2 pages, the failed call, then 45 alerts in 5 pages and 1 empty page.
	if calls := h.calls.Load(); calls != 9 {
		t.Errorf("%d calls, want 9", calls)
	}
}

func gapRecords(t *testing.T, msgs []pipetest.Msg) []v1.GapData {
	t.Helper()
	var out []v1.GapData
	for _, m := range msgs {
		if !strings.HasSuffix(m.Subject, ".bridge_gap.closed.none") {
			continue
		}
		var g v1.Gap
		if err := json.Unmarshal(m.Body, &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g.Data)
	}
	return out
}

// dropFeed drops the live feed in the middle of a backfill: a gap opens from lastAlive, n
// new alerts arrive after the window being fetched ends, and the feed comes back.
func dropFeed(t *testing.T, r *recovery.Recovery, h *history, live *atomic.Bool, lastAlive time.Time, n int) {
	t.Helper()
	live.Store(false)
	r.Open("abrupt_close", lastAlive)
	time.Sleep(2 * time.Millisecond) // the new alerts come after the first window's end
	for i := 0; i < n; i++ {
		h.add(pipetest.Alert(t, "cam2", i, time.Now().UnixMilli()))
	}
	live.Store(true)
	r.Recover()
}

// closeBothGaps runs r, opens the first gap (48 s before now; dropFeed opens the second
// during its backfill), waits until both are closed, and fails the test for any alert
// fetched more than once.
func closeBothGaps(t *testing.T, r *recovery.Recovery, h *history, now time.Time) {
	t.Helper()
	runRecovery(t, r)
	r.Open("abrupt_close", now.Add(-48*time.Second))
	r.Recover()
	pipetest.WaitFor(t, "both gaps closed", 20*time.Second, func() bool { g, _ := r.Counts(); return g == 2 })
	if again := h.refetched(); len(again) > 0 {
		t.Errorf("alerts fetched more than once: %v", again)
	}
}
