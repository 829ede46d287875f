package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
)

// fetchAll pages through win the way Recovery does, and returns the alerts and the calls.
func fetchAll(t *testing.T, src AlertSource, win span) ([]event.Event, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pg, order, cursorOK := newPager(win), orderUnknown, false
	var out []event.Event
	for calls := 1; calls < 1000; calls++ {
		q := pg.query()
		recs, err := src(ctx, q.after, q.before, q.lastTs, q.lastUUID)
		if err != nil {
			t.Fatal(err)
		}
		pl := pg.read(recs, order, cursorOK)
		ahead := pg.queryAfter(pl)
		pg.commit(pl)
		if !pl.finished && pg.query() != ahead {
			t.Fatalf("queryAfter %+v, but the query after commit is %+v", ahead, pg.query())
		}
		out = append(out, pl.fresh...)
		if pl.order != orderUnknown {
			order = pl.order
		}
		cursorOK = cursorOK || pl.honoured
		if pl.finished {
			return out, calls
		}
	}
	t.Fatal("no end after 1000 pages")
	return nil, 0
}

func checkOnce(t *testing.T, got []event.Event, want map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range got {
		if seen[ev.EntityUUID] || !want[ev.EntityUUID] {
			t.Fatalf("alert %s (ts %d) twice or not in the window", ev.EntityUUID, ev.TimestampMs)
		}
		seen[ev.EntityUUID] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("got %d alerts, want %d", len(seen), len(want))
	}
}

// Against the simulator: a server page cap below maxResults, both orders, inclusive bounds
// and four alerts per millisecond straddling page boundaries. Every alert in the window
// once, in one page per cap's worth of alerts plus the page that finds nothing new.
func TestPagerSim(t *testing.T) {
	for _, newest := range []bool{false, true} {
		t.Run(fmt.Sprintf("newestFirst=%v", newest), func(t *testing.T) {
			s, err := sim.New(sim.Config{APIKey: "k", RESTPageCap: 7, NewestFirst: newest, Logger: pipetest.QuietLog()})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			base := time.Now().Add(-time.Hour).UnixMilli()
			after, before := base+10, base+60
			want := map[string]bool{}
			for i := 0; i < 400; i++ {
				a := s.CreateAlert(sim.Alert{TimestampMs: base + int64(i/4), HistoryOnly: true})
				if a.TimestampMs >= after && a.TimestampMs <= before {
					want[a.UUID] = true
				}
			}
			c, err := rhombus.NewClient(rhombus.ClientConfig{APIURL: s.URL(), APIKey: "k", Rate: 1000, PageSize: 50,
				Logger: pipetest.QuietLog()})
			if err != nil {
				t.Fatal(err)
			}
			got, calls := fetchAll(t, c.AlertEvents(s.OrgUUID()), span{after, before})
			checkOnce(t, got, want)
			if most := (len(want)+6)/7 + 1; calls > most || len(s.CallsTo("/api/event/getPolicyAlertsV2")) != calls {
				t.Fatalf("%d calls for %d alerts in pages of 7: want at most %d", calls, len(want), most)
			}
		})
	}
}

// alertServer answers getPolicyAlertsV2 from all (ascending) through page, which picks
// the records of one answer from the request; it counts the calls.
func alertServer(t *testing.T, all []map[string]any, page func(q map[string]int64, lastUUID string) []map[string]any) (AlertSource, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var raw map[string]any
		_ = json.NewDecoder(r.Body).Decode(&raw)
		q := map[string]int64{}
		for _, k := range []string{"afterTimestampMs", "beforeTimestampMs", "lastTimestampMs"} {
			f, _ := raw[k].(float64)
			q[k] = int64(f)
		}
		last, _ := raw["lastUuid"].(string)
		_ = json.NewEncoder(w).Encode(map[string]any{"policyAlerts": page(q, last)})
	}))
	t.Cleanup(srv.Close)
	c, err := rhombus.NewClient(rhombus.ClientConfig{APIURL: srv.URL, APIKey: "k", Rate: 1000, Logger: pipetest.QuietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return c.AlertEvents("ORG"), &calls
}

// Servers that read the paging differently: one that ignores the cursor (newest first,
// pages of 4, three alerts per millisecond), one that answers every cursor with an empty
// page, and one whose pages are short at random although more remain. Each finds every
// alert once.
func TestPagerOtherReadings(t *testing.T) {
	var all []map[string]any
	want := map[string]bool{}
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("a%03d", i)
		all = append(all, map[string]any{"uuid": id, "deviceUuid": "d", "timestampMs": 1000 + i/3})
		want[id] = true
	}
	in := func(q map[string]int64, a map[string]any) bool {
		ts := int64(a["timestampMs"].(int))
		return ts >= q["afterTimestampMs"] && ts <= q["beforeTimestampMs"]
	}
	var n atomic.Int32
	readings := map[string]func(q map[string]int64, last string) []map[string]any{
		"cursor ignored, newest first": func(q map[string]int64, _ string) (page []map[string]any) {
			for i := len(all) - 1; i >= 0 && len(page) < 4; i-- {
				if in(q, all[i]) {
					page = append(page, all[i])
				}
			}
			return page
		},
		"cursor answered empty": func(q map[string]int64, _ string) (page []map[string]any) {
			for i := 0; i < len(all) && len(page) < 5 && q["lastTimestampMs"] == 0; i++ {
				if in(q, all[i]) {
					page = append(page, all[i])
				}
			}
			return page
		},
		"short pages": func(q map[string]int64, last string) (page []map[string]any) {
			size := 1 + int(n.Add(1)%5)
			for i := 0; i < len(all) && len(page) < size; i++ {
				ts := int64(all[i]["timestampMs"].(int))
				past := q["lastTimestampMs"] == 0 || ts > q["lastTimestampMs"] ||
					ts == q["lastTimestampMs"] && all[i]["uuid"].(string) > last
				if in(q, all[i]) && past {
					page = append(page, all[i])
				}
			}
			return page
		},
	}
	for name, page := range readings {
		t.Run(name, func(t *testing.T) {
			src, calls := alertServer(t, all, page)
			got, _ := fetchAll(t, src, span{1000, 2000})
			checkOnce(t, got, want)
			t.Logf("%d calls", calls.Load())
		})
	}
}
