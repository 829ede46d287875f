package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// ErrInvalid is wrapped by every error about input that cannot be understood.
var ErrInvalid = errors.New("invalid rhombus payload")

// change is the WebSocket change-event shape, flat or with the details under "update".
// Field types are lenient: Rhombus has sent numbers as strings and vice versa.
type change struct {
	alertFields
	Entity     flexString   `json:"entity"`
	EntityUUID flexString   `json:"entityUuid"`
	Type       flexString   `json:"type"`
	Update     *alertFields `json:"update"`
}

// alertFields are the fields a change event may carry at the top or under "update".
type alertFields struct {
	UUID                flexString       `json:"uuid"`
	DeviceUUID          flexString       `json:"deviceUuid"`
	TimestampMs         LenientInt       `json:"timestampMs"`
	DurationSec         *LenientDuration `json:"durationSec"`
	PolicyAlertTriggers []flexString     `json:"policyAlertTriggers"`
	TextDescription     flexString       `json:"textDescription"`
	LocationUUID        flexString       `json:"locationUuid"`
}

// ParseChange turns one WebSocket change payload into an Event. Input that is not a JSON
// object or names no entity returns an error wrapping ErrInvalid; pass it to Invalid so it
// still reaches the invalid subject.
func ParseChange(org string, raw []byte, via Via) (Event, error) {
	return ParseChangeNamed(org, raw, via, nil)
}

// ParseChangeNamed is ParseChange that names the device as it encodes the event: name,
// when set, returns a device's name ("" when it knows none) without waiting.
func ParseChangeNamed(org string, raw []byte, via Via, name func(deviceUUID string) string) (Event, error) {
	trimmed := bytes.Trim(raw, jsonSpace)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	c, err := decodeChange(trimmed)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	d := v1.ChangeData{
		Entity:     strings.TrimSpace(string(c.Entity)),
		EntityUUID: string(c.EntityUUID),
		Type:       string(c.Type),
		Raw:        json.RawMessage(raw), // exactly as sent: only JSON whitespace surrounds the object
	}
	if d.Entity == "" {
		return Event{}, fmt.Errorf("%w: no entity", ErrInvalid)
	}
	c.alertFields.fill(&d)
	if c.Update != nil {
		c.Update.fill(&d)
		if d.EntityUUID == "" {
			d.EntityUUID = string(c.Update.UUID)
		}
	}
	if d.EntityUUID == "" {
		d.EntityUUID = string(c.UUID)
	}
	return Build(org, via, Named(d, name))
}

// Named returns d with its device's name from name, which returns it ("" when it knows
// none) without waiting; with no name or no device, d as it is. Inputs that know the
// camera cache name the device this way before Build encodes the event once.
func Named(d v1.ChangeData, name func(deviceUUID string) string) v1.ChangeData {
	if name != nil && d.DeviceUUID != "" {
		d.DeviceName = name(d.DeviceUUID)
	}
	return d
}

// strictChange is the change shape with the types Rhombus documents; decoding into it
// is about twice as fast as the lenient shape, which is the fallback for odd types.
type strictChange struct {
	strictFields
	Entity     string        `json:"entity"`
	EntityUUID string        `json:"entityUuid"`
	Type       string        `json:"type"`
	Update     *strictFields `json:"update"`
}

type strictFields struct {
	UUID                string   `json:"uuid"`
	DeviceUUID          string   `json:"deviceUuid"`
	TimestampMs         int64    `json:"timestampMs"`
	DurationSec         *float64 `json:"durationSec"`
	PolicyAlertTriggers []string `json:"policyAlertTriggers"`
	TextDescription     string   `json:"textDescription"`
	LocationUUID        string   `json:"locationUuid"`
}

func (f *strictFields) lenient() alertFields {
	a := alertFields{UUID: flexString(f.UUID), DeviceUUID: flexString(f.DeviceUUID),
		TimestampMs: LenientInt(f.TimestampMs), TextDescription: flexString(f.TextDescription),
		LocationUUID: flexString(f.LocationUUID)}
	if f.DurationSec != nil {
		d := LenientDuration(ClampDuration(*f.DurationSec))
		a.DurationSec = &d
	}
	for _, t := range f.PolicyAlertTriggers {
		a.PolicyAlertTriggers = append(a.PolicyAlertTriggers, flexString(t))
	}
	return a
}

// jsonSpace is the whitespace JSON allows around a value (bytes.TrimSpace trims more,
// which would leave a raw copy that is not JSON).
const jsonSpace = " \t\r\n"

// decodeChange takes the fast path when it can (scanChange), else encoding/json.
func decodeChange(b []byte) (change, error) {
	if c, ok := scanChange(b); ok {
		return c, nil
	}
	return decodeJSON(b)
}

// decodeJSON decodes with encoding/json, strictly when the payload has the documented
// types, else leniently.
func decodeJSON(b []byte) (change, error) {
	var sc strictChange
	if json.Unmarshal(b, &sc) == nil {
		c := change{alertFields: sc.lenient(), Entity: flexString(sc.Entity),
			EntityUUID: flexString(sc.EntityUUID), Type: flexString(sc.Type)}
		if sc.Update != nil {
			u := sc.Update.lenient()
			c.Update = &u
		}
		return c, nil
	}
	var c change
	err := json.Unmarshal(b, &c)
	return c, err
}

// fill copies the fields that are set into d, leaving the others as they are.
func (a *alertFields) fill(d *v1.ChangeData) {
	if a.DeviceUUID != "" {
		d.DeviceUUID = string(a.DeviceUUID)
	}
	if a.TimestampMs > 0 {
		d.TimestampMs = int64(a.TimestampMs)
	}
	if a.DurationSec != nil {
		d.DurationSec = (*float64)(a.DurationSec) // a is the caller's own, never reused
	}
	if len(a.PolicyAlertTriggers) > 0 {
		d.PolicyAlertTriggers = make([]string, len(a.PolicyAlertTriggers))
		for i, t := range a.PolicyAlertTriggers {
			d.PolicyAlertTriggers[i] = string(t)
		}
	}
	if a.TextDescription != "" {
		d.TextDescription = string(a.TextDescription)
	}
	if a.LocationUUID != "" {
		d.LocationUUID = string(a.LocationUUID)
	}
}

// flexString accepts a JSON string, number, bool or null.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if bytes.Equal(b, []byte("null")) || len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		*s = ""
		return nil
	}
	*s = flexString(b)
	return nil
}

// LenientInt accepts a JSON number (integral or not) or a numeric string; anything else
// is 0. Rhombus has sent timestamps both ways.
type LenientInt int64

// UnmarshalJSON never fails.
func (n *LenientInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = LenientInt(v)
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -9e18 && f <= 9e18 {
		*n = LenientInt(int64(f))
		return nil
	}
	*n = 0
	return nil
}

// LenientDuration accepts a JSON number or a numeric string of seconds; anything else,
// and NaN, infinite, negative or absurd values, is 0 (the schemas require durationSec ≥ 0).
type LenientDuration float64

// UnmarshalJSON never fails.
func (f *LenientDuration) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err != nil {
		v = 0
	}
	*f = LenientDuration(ClampDuration(v))
	return nil
}

// ClampDuration makes NaN, negative and absurd durations 0.
func ClampDuration(v float64) float64 {
	if v != v || v < 0 || v > 1e15 {
		return 0
	}
	return v
}
