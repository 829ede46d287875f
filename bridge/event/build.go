package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// Build makes an Event from normalised data: it computes the deterministic id and encodes
// the CloudEvent body. d.Raw must be valid JSON (it is embedded verbatim); d.Entity must be
// set.
func Build(org string, via Via, d v1.ChangeData) (Event, error) {
	if strings.TrimSpace(d.Entity) == "" {
		return Event{}, fmt.Errorf("%w: no entity", ErrInvalid)
	}
	if len(d.Raw) == 0 {
		d.Raw = []byte("{}")
	}
	ev := Event{
		ID:          ID(d.Entity, d.Type, d.EntityUUID, d.TimestampMs, d.Raw),
		Org:         org,
		Entity:      d.Entity,
		Change:      d.Type,
		EntityUUID:  d.EntityUUID,
		DeviceUUID:  d.DeviceUUID,
		TimestampMs: d.TimestampMs,
		Via:         via,
	}
	ev.Body, ev.nameAt = encodeChange(&ev, &d)
	ev.data = &d
	return ev, nil
}

// Data returns the normalised data the event was built from. An event that came back
// without it (read from the spool, which keeps the encoded body) has it decoded from its
// body; an invalid event, or one whose body is not a change CloudEvent, has none.
func (e *Event) Data() v1.ChangeData {
	if !e.loadData() {
		return v1.ChangeData{}
	}
	return *e.data
}

// loadData makes sure e.data is set, decoding the body when needed; false when there is
// no change data to have.
func (e *Event) loadData() bool {
	if e.data != nil {
		return true
	}
	if e.Invalid || len(e.Body) == 0 || e.Entity == EntityGap {
		return false
	}
	var ce v1.Event
	if err := json.Unmarshal(e.Body, &ce); err != nil || ce.ID != e.ID {
		return false
	}
	e.data = &ce.Data
	return true
}

// WithDeviceName returns a copy of the event whose data carries the device's name. The
// id does not change and e is left as it was (sinks may be reading its Body).
//
// The name is spliced into a copy of the body: nothing is decoded or encoded again, also
// for an event that came back from the spool with its body only. Only renaming an event
// that already has a name decodes the data (when the event does not carry it) and
// encodes anew.
func (e Event) WithDeviceName(name string) Event {
	if e.Invalid || name == "" || e.Entity == EntityGap {
		return e
	}
	if at := e.nameOffset(); at > 0 {
		e.Body = spliceDeviceName(e.Body, at, name)
		if e.data != nil {
			d := *e.data
			d.DeviceName = name
			e.data = &d
		}
		e.nameAt = 0
		return e
	}
	if e.namedAs(name) || !e.loadData() || e.data.DeviceName == name {
		return e
	}
	d := *e.data
	d.DeviceName = name
	e.Body, _ = encodeChange(&e, &d)
	e.data, e.nameAt = &d, 0
	return e
}

// nameOffset is where in Body a deviceName member goes, 0 when the body has a name
// already or is not a change CloudEvent this package encoded. Without nameAt (the event
// came back from the spool) it is found in the body: encodeChange writes the data's
// members in a fixed order, and `,"timestampMs":` cannot occur inside an encoded string
// (quotes are escaped) nor in the envelope, so its first occurrence is the data's, right
// after the deviceUuid member (or after deviceName, when there is one).
func (e *Event) nameOffset() int {
	if e.data != nil {
		if e.data.DeviceName != "" || e.nameAt <= 0 || e.nameAt >= len(e.Body) {
			return 0
		}
		return e.nameAt
	}
	if _, at, ok := e.beforeTimestamp(`,"deviceUuid":`); ok {
		return at
	}
	return 0
}

// namedAs reports whether the body of an event that came back from the spool names the
// device name already (it was named as it was parsed): nothing to do, and nothing to
// decode to find out.
func (e *Event) namedAs(name string) bool {
	if e.data != nil {
		return false
	}
	q, at, ok := e.beforeTimestamp(`,"deviceName":`)
	return ok && string(e.Body[q:at]) == string(appendString(nil, name))
}

// beforeTimestamp finds, in a body this package encoded, the string member right before
// the data's timestampMs (see nameOffset): its key is key, and its quoted value b[q:at].
func (e *Event) beforeTimestamp(key string) (q, at int, ok bool) {
	b := e.Body
	const head = `{"specversion":"1.0","id":"`
	if !bytes.HasPrefix(b, []byte(head)) || !bytes.HasPrefix(b[len(head):], []byte(e.ID)) {
		return 0, 0, false
	}
	at = bytes.Index(b, []byte(`,"timestampMs":`))
	if at <= 0 || b[at-1] != '"' {
		return 0, 0, false
	}
	q = at - 2 // back to the quote that opens the string before at
	for ; q >= 0 && (b[q] != '"' || escaped(b, q)); q-- {
	}
	if q < 0 || !bytes.HasSuffix(b[:q], []byte(key)) {
		return 0, 0, false
	}
	return q, at, true
}

// escaped reports whether b[i] is preceded by an odd number of backslashes.
func escaped(b []byte, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// Invalid wraps input that could not be understood. The event goes to the invalid
// subject with the raw bytes as its body; its id is derived from the bytes, so a repeated
// delivery of the same bytes collapses.
func Invalid(org string, raw []byte, reason error, via Via) Event {
	sum := sha256.Sum256(raw)
	body := make([]byte, len(raw))
	copy(body, raw)
	return Event{
		ID:      uuidV5("invalid/" + hex.EncodeToString(sum[:])),
		Org:     org,
		Via:     via,
		Invalid: true,
		Reason:  reason.Error(),
		Body:    body,
	}
}

// timeLayout is RFC 3339 with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Source is the CloudEvents source of every event of org.
func Source(org string) string { return sourcePrefix + org }

const sourcePrefix = "/rhombus/orgs/"

// Time formats a Rhombus millisecond timestamp as the RFC 3339 CloudEvents time (UTC,
// millisecond precision). A zero timestamp means now.
func Time(ms int64) string { return string(appendTime(make([]byte, 0, len(timeLayout)+2), ms)) }
