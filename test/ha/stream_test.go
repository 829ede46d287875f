package ha_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

const streamName = "RHOMBUS"

// record is one stream message as the tests see it.
type record struct {
	seq     uint64
	id      string // the CloudEvent id
	subject string
	rev     uint64 // Rhombus-Lease-Rev (0: none)
	stored  time.Time
}

// collector reads the stream from its start, directly from the server (not through a
// replica's proxy), for the whole test.
type collector struct {
	js jetstream.JetStream

	mu   sync.Mutex
	recs []record
	ids  map[string]int
}

func startCollector(t testing.TB, url string) *collector {
	t.Helper()
	js := natstest.Connect(t, url)
	c := &collector{js: js, ids: make(map[string]int)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, streamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", streamName, err)
	}
	cc, err := cons.Consume(c.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return c
}

func (c *collector) add(m jetstream.Msg) {
	var ce struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(m.Data(), &ce)
	r := record{id: ce.ID, subject: m.Subject()}
	if md, err := m.Metadata(); err == nil {
		r.seq, r.stored = md.Sequence.Stream, md.Timestamp
	}
	r.rev, _ = strconv.ParseUint(m.Headers().Get(natsjs.HeaderLeaseRev), 10, 64)
	c.mu.Lock()
	c.recs = append(c.recs, r)
	c.ids[r.id]++
	c.mu.Unlock()
}

// caughtUp reports whether the collector has read up to the stream's last message.
func (c *collector) caughtUp() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.js.Stream(ctx, streamName)
	if err != nil {
		return false
	}
	info, err := s.Info(ctx)
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs) > 0 && c.recs[len(c.recs)-1].seq >= info.State.LastSeq
}

// missing returns the alerts not (yet) in the stream.
func (c *collector) missing(alerts []sim.Alert) []sim.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []sim.Alert
	for _, a := range alerts {
		if c.ids[event.AlertID(a.UUID)] == 0 {
			out = append(out, a)
		}
	}
	return out
}

// checkAlerts waits up to d for every alert to be in the stream (the last backfill
// after a failover may still run), then checks each is there exactly once.
func (c *collector) checkAlerts(t testing.TB, alerts []sim.Alert, d time.Duration) {
	t.Helper()
	if len(alerts) == 0 {
		t.Fatal("the simulator created no alert")
	}
	deadline := time.Now().Add(d)
	for len(c.missing(alerts)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for !c.caughtUp() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if miss := c.missing(alerts); len(miss) > 0 {
		first := miss[:min(len(miss), 5)]
		t.Errorf("%d of %d policy alerts missing from the stream after %v; first: %+v", len(miss), len(alerts), d, first)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dups := 0
	for _, a := range alerts {
		if n := c.ids[event.AlertID(a.UUID)]; n > 1 {
			if dups < 5 {
				t.Errorf("alert %s (id %s) is in the stream %d times", a.UUID, event.AlertID(a.UUID), n)
			}
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%d policy alerts duplicated", dups)
	}
	gaps := 0
	for _, r := range c.recs {
		if subjectToken(r.subject, 3) == "bridge_gap" {
			gaps++
		}
	}
	t.Logf("%d policy alerts created, all in the stream exactly once (%d messages, %d gap records)",
		len(alerts), len(c.recs), gaps)
}

// checkFence checks that no message under the deposed term's revision old was stored
// after the first message of the successor's term cur.
func (c *collector) checkFence(t testing.TB, old, cur uint64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	first := uint64(0)
	var firstAt time.Time
	for _, r := range c.recs {
		if r.rev == cur {
			first, firstAt = r.seq, r.stored
			break
		}
	}
	if first == 0 {
		t.Errorf("no message carries the successor's lease revision %d", cur)
		return
	}
	late, before := 0, 0
	for _, r := range c.recs {
		switch {
		case r.rev != old:
		case r.seq > first:
			if late < 5 {
				t.Errorf("message %d (%s, id %s) stored %v after the successor's first (seq %d) carries the old lease revision %d",
					r.seq, r.subject, r.id, r.stored.Sub(firstAt), first, old)
			}
			late++
		default:
			before++
		}
	}
	t.Logf("fence: %d messages under the old revision %d, all before seq %d (the first under %d); %d after",
		before, old, first, cur, late)
}

// subjectToken is the i-th dot-separated token of subject ("" if none).
func subjectToken(subject string, i int) string {
	if toks := strings.Split(subject, "."); i < len(toks) {
		return toks[i]
	}
	return ""
}
