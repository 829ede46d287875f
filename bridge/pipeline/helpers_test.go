package pipeline_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
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
