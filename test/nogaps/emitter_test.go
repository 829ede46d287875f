package nogaps

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// emitter streams a known mix through the simulator, remembering the id of every event
// that reached the bridge's socket: flat and nested policy alerts (created, so they are
// in the REST history too), DEVICE_CONFIG updates and an entity the bridge does not know.
// Every payload has its own id (unique uuids and timestamps).
type emitter struct {
	s    *sim.Server
	org  string
	cams []sim.Camera
	base int64

	mu       sync.Mutex
	accepted map[string]bool // ids of events that reached a subscription
	alerts   map[string]bool // ids of every alert created (live or not)
	others   map[string]bool // ids of accepted non-alert events
	made     int
}

func newEmitter(s *sim.Server) *emitter {
	return &emitter{s: s, org: s.OrgUUID(), cams: s.Cameras(), base: time.Now().UnixMilli(),
		accepted: map[string]bool{}, alerts: map[string]bool{}, others: map[string]bool{}}
}

// run emits at rate events/s until the returned stop is called.
func (e *emitter) run(t testing.TB, rate float64) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		for i := 0; ctx.Err() == nil; i++ {
			if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			if err := e.one(i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (e *emitter) one(i int) error {
	cam := e.cams[i%len(e.cams)]
	var payload []byte
	reached := false
	switch i % 4 {
	case 0, 1:
		sh := sim.ShapeFlat
		if i%4 == 1 {
			sh = sim.ShapeNested
		}
		a := e.s.CreateAlert(sim.Alert{DeviceUUID: cam.UUID, LocationUUID: cam.LocationUUID, Shape: sh,
			Triggers: []string{"PERSON_DETECTED"}})
		e.mu.Lock()
		e.alerts[event.AlertID(a.UUID)] = true
		e.mu.Unlock()
		payload, reached = a.Payload(), a.Live > 0
	case 2:
		payload, _ = json.Marshal(map[string]any{"entity": "DEVICE_CONFIG", "entityUuid": cam.UUID,
			"type": "UPDATE", "deviceUuid": cam.UUID, "timestampMs": e.base + int64(i)})
		reached = e.s.Emit(payload) > 0
	default:
		payload, _ = json.Marshal(map[string]any{"entity": "DOOR_STATE", "entityUuid": fmt.Sprintf("door-%d", i),
			"type": "UPDATE", "timestampMs": e.base + int64(i)})
		reached = e.s.Emit(payload) > 0
	}
	ev, err := event.ParseChange(e.org, payload, event.ViaWebSocket)
	if err != nil {
		return fmt.Errorf("emitter: own payload does not parse: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.made++
	if reached {
		e.accepted[ev.ID] = true
		if ev.Entity != event.EntityPolicyAlert {
			e.others[ev.ID] = true
		}
	}
	return nil
}

// snapshot copies what was emitted: accepted ids, alert ids, accepted non-alert ids.
func (e *emitter) snapshot() (accepted, alerts, others map[string]bool, made int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := func(m map[string]bool) map[string]bool {
		out := make(map[string]bool, len(m))
		for k := range m {
			out[k] = true
		}
		return out
	}
	return cp(e.accepted), cp(e.alerts), cp(e.others), e.made
}
