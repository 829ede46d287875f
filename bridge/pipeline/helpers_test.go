package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// overflowLog collects the events handed to OnOverflow.
type overflowLog struct {
	mu  sync.Mutex
	evs []event.Event
}

func (o *overflowLog) add(ev event.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.evs = append(o.evs, ev)
}

func (o *overflowLog) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.evs)
}

// tsOf returns the event's timestamp, zero-padded so that strings compare as numbers.
func tsOf(t *testing.T, body []byte) string {
	t.Helper()
	var ce struct {
		Data struct {
			TimestampMs int64 `json:"timestampMs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ce); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%020d", ce.Data.TimestampMs)
}

// forEachSinkKind runs test against a fresh broker once with a synchronous sink (the
// lanes wait for each acknowledgement) and once with the natsjs sink (asynchronous: the
// lanes pipeline their events).
func forEachSinkKind(t *testing.T, test func(t *testing.T, b *pipetest.Broker, sink sinks.Publisher)) {
	t.Run("sync", func(t *testing.T) {
		b := pipetest.StartBroker(t)
		test(t, b, b.Sink())
	})
	t.Run("pipelined", func(t *testing.T) {
		b := pipetest.StartBroker(t)
		// AckTimeout as the bridge sets it from BRIDGE_PUBLISH_TIMEOUT; short here, as the
		// tests' PublishTimeout.
		s, err := natsjs.New(context.Background(), natsjs.Config{Conn: b.NC, Stream: "RHOMBUS",
			AckTimeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		test(t, b, s)
	})
}
