package sim

import (
	"encoding/json"
	"fmt"
	"time"
)

// Shape is how a policy alert's change event is laid out on the WebSocket.
type Shape int

const (
	// ShapeFlat: the alert fields at the top, entityUuid = alert uuid
	// (fixture websocket_flat_policy_alert).
	ShapeFlat Shape = iota
	// ShapeNested: the alert under "update", entityUuid empty
	// (fixture websocket_nested_policy_alert).
	ShapeNested
	// ShapeNestedBare: nested, with only uuid and deviceUuid under "update": no
	// timestampMs nor other details, so a client must ask getPolicyAlertDetails.
	ShapeNestedBare
)

var shapeNames = map[Shape]string{ShapeFlat: "flat", ShapeNested: "nested", ShapeNestedBare: "nested-bare"}

// MarshalText names the shape.
func (sh Shape) MarshalText() ([]byte, error) {
	if n, ok := shapeNames[sh]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("sim: unknown shape %d", int(sh))
}

// UnmarshalText reads flat, nested or nested-bare (empty: flat).
func (sh *Shape) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*sh = ShapeFlat
		return nil
	}
	for k, n := range shapeNames {
		if n == string(b) {
			*sh = k
			return nil
		}
	}
	return fmt.Errorf("sim: unknown shape %q", b)
}

// Alert is one policy alert. Zero fields are filled in by CreateAlert.
type Alert struct {
	UUID            string   `json:"uuid"`
	DeviceUUID      string   `json:"deviceUuid"`
	LocationUUID    string   `json:"locationUuid"`
	TimestampMs     int64    `json:"timestampMs"`
	DurationSec     float64  `json:"durationSec"`
	Triggers        []string `json:"policyAlertTriggers"`
	TextDescription string   `json:"textDescription"`
	Shape           Shape    `json:"shape"`
	// HistoryOnly keeps the alert out of the live feed (only REST and webhooks see it).
	HistoryOnly bool `json:"historyOnly,omitempty"`

	// Set by the simulator.
	Live    int       `json:"live"`    // subscriptions the live copy reached (0: history only)
	Created time.Time `json:"created"` // when CreateAlert ran
	seq     uint64
}

// changeFlat is the flat WebSocket change shape, in Rhombus's field order.
type changeFlat struct {
	Entity       string   `json:"entity"`
	EntityUUID   string   `json:"entityUuid"`
	Type         string   `json:"type"`
	DeviceUUID   string   `json:"deviceUuid"`
	TimestampMs  int64    `json:"timestampMs"`
	DurationSec  float64  `json:"durationSec"`
	Triggers     []string `json:"policyAlertTriggers"`
	Text         string   `json:"textDescription"`
	LocationUUID string   `json:"locationUuid,omitempty"`
}

type nestedUpdate struct {
	UUID         string   `json:"uuid"`
	DeviceUUID   string   `json:"deviceUuid"`
	TimestampMs  int64    `json:"timestampMs,omitempty"`
	DurationSec  *float64 `json:"durationSec,omitempty"`
	Triggers     []string `json:"policyAlertTriggers,omitempty"`
	Text         string   `json:"textDescription,omitempty"`
	LocationUUID string   `json:"locationUuid,omitempty"`
}

type changeNested struct {
	Entity     string       `json:"entity"`
	EntityUUID string       `json:"entityUuid"`
	Type       string       `json:"type"`
	Update     nestedUpdate `json:"update"`
}

// Payload is the alert's WebSocket change payload in its Shape.
func (a Alert) Payload() []byte {
	var v any
	switch a.Shape {
	case ShapeNested:
		d := a.DurationSec
		v = changeNested{Entity: "POLICY_ALERT", Type: "CREATE", Update: nestedUpdate{
			UUID: a.UUID, DeviceUUID: a.DeviceUUID, TimestampMs: a.TimestampMs, DurationSec: &d,
			Triggers: a.Triggers, Text: a.TextDescription, LocationUUID: a.LocationUUID,
		}}
	case ShapeNestedBare:
		v = changeNested{Entity: "POLICY_ALERT", Type: "CREATE", Update: nestedUpdate{
			UUID: a.UUID, DeviceUUID: a.DeviceUUID,
		}}
	default:
		v = changeFlat{
			Entity: "POLICY_ALERT", EntityUUID: a.UUID, Type: "CREATE", DeviceUUID: a.DeviceUUID,
			TimestampMs: a.TimestampMs, DurationSec: a.DurationSec, Triggers: a.Triggers,
			Text: a.TextDescription, LocationUUID: a.LocationUUID,
		}
	}
	b, _ := json.Marshal(v) // plain structs: cannot fail
	return b
}

// Record is the alert as the REST API returns it (getPolicyAlertsV2, getPolicyAlertDetails).
type Record struct {
	UUID            string   `json:"uuid"`
	OrgUUID         string   `json:"orgUuid"`
	DeviceUUID      string   `json:"deviceUuid"`
	LocationUUID    string   `json:"locationUuid"`
	TimestampMs     int64    `json:"timestampMs"`
	DurationSec     float64  `json:"durationSec"`
	Triggers        []string `json:"policyAlertTriggers"`
	TextDescription string   `json:"textDescription"`
}

func (s *Server) record(a *Alert) Record {
	return Record{
		UUID: a.UUID, OrgUUID: s.cfg.OrgUUID, DeviceUUID: a.DeviceUUID, LocationUUID: a.LocationUUID,
		TimestampMs: a.TimestampMs, DurationSec: a.DurationSec, Triggers: a.Triggers,
		TextDescription: a.TextDescription,
	}
}

// fill completes an alert's zero fields.
func (s *Server) fill(a *Alert) {
	if a.UUID == "" {
		a.UUID = s.ids.uuid()
	}
	if a.DeviceUUID == "" && len(s.cameras) > 0 {
		cam := s.cameras[s.ids.intn(len(s.cameras))]
		a.DeviceUUID, a.LocationUUID = cam.UUID, cam.LocationUUID
	}
	if a.TimestampMs == 0 {
		a.TimestampMs = time.Now().UnixMilli()
	}
	if len(a.Triggers) == 0 {
		a.Triggers = []string{"MOTION_DETECTED"}
	}
	if a.TextDescription == "" {
		a.TextDescription = describe(a.Triggers, s.cameraName(a.DeviceUUID))
	}
	if a.DurationSec == 0 {
		a.DurationSec = 5
	}
}

func (s *Server) cameraName(uuid string) string {
	for _, c := range s.cameras {
		if c.UUID == uuid {
			return c.Name
		}
	}
	return "camera"
}

// Emit sends payload as a MESSAGE to every live subscription of the org and returns how
// many it reached (silent connections are not reached).
func (s *Server) Emit(payload []byte) int {
	n := 0
	for _, c := range s.snapshotConns() {
		n += c.emitTo(payload)
	}
	s.mu.Lock()
	if n > 0 {
		s.st.emitted++
	} else {
		s.st.suppressed++
	}
	s.notifyLocked()
	s.mu.Unlock()
	return n
}

// CreateAlert fills in a's zero fields, stores it in the REST history, emits it live
// (unless HistoryOnly) and, when webhook delivery is on, queues it for the registered
// webhook. It returns the alert as stored, with Live set.
func (s *Server) CreateAlert(a Alert) Alert {
	s.fill(&a)
	a.Created = time.Now()
	s.mu.Lock()
	stored := s.hist.add(a) // stored before the live copy leaves, as in Rhombus
	s.mu.Unlock()
	if !a.HistoryOnly {
		a.Live = s.Emit(a.Payload())
	}
	s.mu.Lock()
	stored.Live = a.Live
	deliver := s.cfg.DeliverWebhooks && s.webhook.URL != "" && !s.webhook.Disabled
	s.notifyLocked()
	s.mu.Unlock()
	if deliver {
		select {
		case s.hookQ <- a:
		default:
			s.log.Warn("webhook delivery queue full, alert not delivered", "alert_uuid", a.UUID)
		}
	}
	return a
}

// Alerts returns every alert in the history, in creation order.
func (s *Server) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hist.inCreationOrder()
}

// Alert returns the stored alert with uuid.
func (s *Server) Alert(uuid string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.hist.byUUID[uuid]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}
