package spool

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

func TestRecordRoundTrip(t *testing.T) {
	built, err := event.Build("org", event.ViaBackfill, v1.ChangeData{Entity: "CAMERA", Type: "UPDATE",
		EntityUUID: "e", DeviceUUID: "d", TimestampMs: 42, Raw: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []event.Event{mkEvent(1), mkEvent(4), {}, built,
		{ID: "neg", TimestampMs: -5, Received: time.Unix(-10, 7), Fence: 1<<64 - 1, Body: make([]byte, 70000)}}
	for i, ev := range cases {
		b := appendFrame(nil, &ev)
		payload, _, n, err := readFrame(bufio.NewReader(bytes.NewReader(b)), nil)
		if err != nil || n != int64(len(b)) {
			t.Fatalf("case %d: readFrame = %d, %v", i, n, err)
		}
		got, err := decodePayload(payload)
		if err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if !got.Received.Equal(ev.Received) {
			t.Fatalf("case %d: Received %v, want %v", i, got.Received, ev.Received)
		}
		got.Received, ev.Received = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got.Data(), ev.Data()) { // stored as the Body, decoded again
			t.Fatalf("case %d: Data() %+v, want %+v", i, got.Data(), ev.Data())
		}
		got, ev = stripData(got), stripData(ev)
		if !reflect.DeepEqual(got, ev) {
			t.Fatalf("case %d: round trip\n got %+v\nwant %+v", i, got, ev)
		}
	}
}

// stripData copies the exported fields only.
func stripData(e event.Event) event.Event {
	return event.Event{ID: e.ID, Org: e.Org, Entity: e.Entity, Change: e.Change, EntityUUID: e.EntityUUID,
		DeviceUUID: e.DeviceUUID, TimestampMs: e.TimestampMs, Via: e.Via, Invalid: e.Invalid, Reason: e.Reason,
		Received: e.Received, Fence: e.Fence, Body: e.Body}
}

func TestReadFrameDamage(t *testing.T) {
	ev := mkEvent(3)
	good := appendFrame(nil, &ev)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 0x40
	huge := bytes.Clone(good)
	huge[3] = 0xff
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"torn header":  {good[:5], errTorn},
		"torn payload": {good[:len(good)-1], errTorn},
		"bit flip":     {flipped, errCorrupt},
		"huge length":  {huge, errCorrupt},
	} {
		_, _, _, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), nil)
		if !errorsIs(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the frame reader and the payload decoder: they must
// never panic, and whatever decodes must encode back to the same payload.
func FuzzDecode(f *testing.F) {
	for _, i := range []int{0, 4, 9} {
		ev := mkEvent(i)
		fr := appendFrame(nil, &ev)
		f.Add(fr)
		f.Add(fr[frameHeader:])
	}
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		var buf []byte
		for {
			var payload []byte
			var err error
			payload, buf, _, err = readFrame(r, buf)
			if err != nil {
				break
			}
			_, _ = decodePayload(payload)
		}
		ev, err := decodePayload(b)
		if err != nil {
			return
		}
		if again := appendPayload(nil, &ev); !bytes.Equal(again, b) && canonical(b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
	})
}

// canonical reports whether b's varints are minimal, the only case re-encoding must match.
func canonical(b []byte) bool {
	ev, err := decodePayload(b)
	if err != nil {
		return false
	}
	again := appendPayload(nil, &ev)
	return len(again) == len(b)
}

// TestEveryExportedFieldSurvives sets each exported field of event.Event alone and checks
// that it round-trips, so a field added to Event later fails here until the spool keeps it.
func TestEveryExportedFieldSurvives(t *testing.T) {
	typ := reflect.TypeFor[event.Event]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		var ev event.Event
		v := reflect.ValueOf(&ev).Elem().Field(i)
		switch {
		case f.Type == reflect.TypeFor[time.Time]():
			v.Set(reflect.ValueOf(time.Unix(1_700_000_000, 123456789)))
		case f.Type.Kind() == reflect.String:
			v.SetString("value-" + f.Name)
		case f.Type.Kind() == reflect.Bool:
			v.SetBool(true)
		case f.Type.Kind() == reflect.Int64:
			v.SetInt(-1234567890123)
		case f.Type.Kind() == reflect.Uint64:
			v.SetUint(1<<63 + 5)
		case f.Type == reflect.TypeFor[[]byte]():
			v.SetBytes([]byte("body-bytes"))
		default:
			t.Fatalf("event.Event.%s has type %s, which the spool does not serialise yet", f.Name, f.Type)
		}
		got, err := decodePayload(appendPayload(nil, &ev))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		gv := reflect.ValueOf(got).Field(i).Interface()
		if tm, ok := gv.(time.Time); ok && tm.Equal(v.Interface().(time.Time)) {
			continue
		}
		if !reflect.DeepEqual(gv, v.Interface()) {
			t.Errorf("%s: got %v, want %v", f.Name, gv, v.Interface())
		}
	}
}
