package rhombus

import (
	"context"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// TestEnricherNeverQueuesBehindTheBudget: 40 bare alerts against a 2 req/s budget are
// all returned promptly; only the budget's share is completed from REST.
func TestEnricherNeverQueuesBehindTheBudget(t *testing.T) {
	s, err := sim.New(sim.Config{APIKey: "k", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := NewClient(ClientConfig{APIURL: s.URL(), APIKey: "k", Rate: 2, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEnricher(c, 2*time.Second, quietLogger())
	start := time.Now()
	completed := 0
	for i := 0; i < 40; i++ {
		a := s.CreateAlert(sim.Alert{Shape: sim.ShapeNestedBare, HistoryOnly: true})
		ev, err := event.ParseChange(s.OrgUUID(), a.Payload(), event.ViaWebSocket)
		if err != nil {
			t.Fatal(err)
		}
		if out := e.Enrich(context.Background(), ev); out.TimestampMs != 0 {
			completed++
		}
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("40 bare alerts took %s: the enricher queued behind the REST budget", el)
	}
	if completed == 0 || e.Skipped() == 0 || completed+int(e.Skipped()) != 40 {
		t.Fatalf("completed %d, skipped %d", completed, e.Skipped())
	}
}
