package nogaps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// stored is what the tests keep of one stream message.
type stored struct {
	Seq    uint64
	ID     string // the CloudEvent id (checked equal to Nats-Msg-Id)
	Via    string // rhombusvia
	Entity string // rhombusentity
}

// collector reads the RHOMBUS stream incrementally, over its own connection, which
// survives JetStream restarts.
type collector struct {
	js   jetstream.JetStream
	seq  uint64              // last stream sequence read
	msgs []stored            // every message, in stream order
	byID map[string][]stored // id → its copies
	gaps []v1.GapData        // BRIDGE_GAP records, in stream order
}

func newCollector(t testing.TB, url string) *collector {
	t.Helper()
	js := natstest.Connect(t, url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	return &collector{js: js, byID: map[string][]stored{}}
}

// sync reads what was stored since the last sync. Before the bridge created the stream
// there is nothing to read.
func (c *collector) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := c.js.Stream(ctx, "RHOMBUS")
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	if last <= c.seq {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: c.seq + 1})
	if err != nil {
		return err
	}
	for c.seq < last {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		for m := range batch.Messages() {
			if err := c.add(m); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func (c *collector) add(m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	var ce struct {
		ID     string          `json:"id"`
		Via    string          `json:"rhombusvia"`
		Entity string          `json:"rhombusentity"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(m.Data(), &ce); err != nil {
		return fmt.Errorf("seq %d: not a CloudEvent: %w", md.Sequence.Stream, err)
	}
	if h := m.Headers().Get(jetstream.MsgIDHeader); h != ce.ID {
		return fmt.Errorf("seq %d: Nats-Msg-Id %q != id %q", md.Sequence.Stream, h, ce.ID)
	}
	s := stored{Seq: md.Sequence.Stream, ID: ce.ID, Via: ce.Via, Entity: ce.Entity}
	c.seq = s.Seq
	c.msgs = append(c.msgs, s)
	c.byID[s.ID] = append(c.byID[s.ID], s)
	if ce.Entity == event.EntityGap {
		var g v1.GapData
		if err := json.Unmarshal(ce.Data, &g); err != nil {
			return fmt.Errorf("gap record %s: %w", ce.ID, err)
		}
		c.gaps = append(c.gaps, g)
	}
	return nil
}

// mustSync syncs or fails the test.
func (c *collector) mustSync(t testing.TB) {
	t.Helper()
	if err := c.sync(context.Background()); err != nil {
		t.Fatalf("read stream: %v", err)
	}
}

// has reports whether every id is stored (syncing first; a failed read is "not yet").
func (c *collector) has(ids map[string]bool) bool {
	if c.sync(context.Background()) != nil {
		return false
	}
	for id := range ids {
		if len(c.byID[id]) == 0 {
			return false
		}
	}
	return true
}

// alertIDs maps every alert's event id to its uuid.
func alertIDs(alerts []sim.Alert) map[string]bool {
	out := make(map[string]bool, len(alerts))
	for _, a := range alerts {
		out[event.AlertID(a.UUID)] = true
	}
	return out
}

// report is the outcome of comparing the stream with what should be in it.
type report struct {
	want, missing, duplicated int
	byVia                     map[string]int // of the wanted ids, how their copy came
	samples                   []string
}

// check compares the stream with want: every wanted id exactly once, and no id at all
// stored twice.
func (c *collector) check(want map[string]bool) report {
	r := report{want: len(want), byVia: map[string]int{}}
	for id := range want {
		copies := c.byID[id]
		switch {
		case len(copies) == 0:
			r.missing++
			r.sample("missing " + id)
		case len(copies) > 1:
			r.duplicated++
			r.sample(fmt.Sprintf("%s stored %d times", id, len(copies)))
		}
		if len(copies) > 0 {
			r.byVia[copies[0].Via]++
		}
	}
	for id, copies := range c.byID {
		if len(copies) > 1 && !want[id] {
			r.duplicated++
			r.sample(fmt.Sprintf("%s (%s) stored %d times", id, copies[0].Entity, len(copies)))
		}
	}
	sort.Strings(r.samples)
	return r
}

func (r *report) sample(s string) {
	if len(r.samples) < 10 {
		r.samples = append(r.samples, s)
	}
}

func (r report) ok() bool { return r.missing == 0 && r.duplicated == 0 }

func (r report) String() string {
	return fmt.Sprintf("%d wanted, %d missing, %d duplicated, by via %v; e.g. %s", r.want, r.missing,
		r.duplicated, r.byVia, strings.Join(r.samples, "; "))
}

// gapCauses counts the gap records by cause.
func (c *collector) gapCauses() map[string]int {
	out := map[string]int{}
	for _, g := range c.gaps {
		out[g.Cause]++
	}
	return out
}

// explainMissing logs up to 10 alerts missing from the stream, with what the simulator
// knows of them, and the gap records, to tell a lost live copy from a missed backfill.
func (c *collector) explainMissing(t testing.TB, s *sim.Server) {
	t.Helper()
	alerts := s.Alerts()
	var first time.Time
	n := 0
	for _, a := range alerts {
		if len(c.byID[event.AlertID(a.UUID)]) > 0 {
			continue
		}
		if first.IsZero() {
			first = a.Created
		}
		if n++; n <= 10 {
			t.Logf("missing alert %s: created %s, timestampMs %d, shape %v, live %d", a.UUID,
				a.Created.Format("15:04:05.000"), a.TimestampMs, a.Shape, a.Live)
		}
	}
	if n == 0 {
		return
	}
	t.Logf("%d alerts missing", n)
	for _, g := range c.gaps {
		t.Logf("gap %s..%s cause %s recovered %d %s", time.UnixMilli(g.StartMs).Format("15:04:05.000"),
			time.UnixMilli(g.EndMs).Format("15:04:05.000"), g.Cause, g.AlertsRecovered, g.BackfillError)
	}
	for _, sp := range s.Subscriptions() {
		if sp.Start.After(first.Add(-3*time.Second)) && sp.Start.Before(first.Add(3*time.Second)) {
			t.Logf("subscription conn %d: %s..%s", sp.Conn, sp.Start.Format("15:04:05.000"), sp.End.Format("15:04:05.000"))
		}
	}
}

// gapsBeforeSubscription lists gap records whose backfill window ended before the
// simulator registered the subscription that followed the gap's start: alerts created in
// between were neither delivered live nor asked for by backfill. Overflow gaps (the feed
// stayed subscribed) are not checked. Times are compared in whole milliseconds, as the
// window's bound is inclusive.
func gapsBeforeSubscription(gaps []v1.GapData, subs []sim.Subscription) []string {
	var out []string
	for _, g := range gaps {
		if strings.Contains(g.Cause, "overflow") {
			continue
		}
		var next *sim.Subscription
		for i := range subs {
			if subs[i].Start.UnixMilli() > g.StartMs {
				next = &subs[i]
				break
			}
		}
		switch {
		case next == nil:
			out = append(out, fmt.Sprintf("gap %s (%s) closed with no subscription after its start", g.GapID, g.Cause))
		case g.EndMs < next.Start.UnixMilli():
			out = append(out, fmt.Sprintf("gap %s (%s) backfilled up to %s, subscription registered at %s",
				g.GapID, g.Cause, time.UnixMilli(g.EndMs).Format("15:04:05.000"), next.Start.Format("15:04:05.000")))
		}
	}
	return out
}
