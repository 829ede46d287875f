package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/schemas/v1/validate"
)

// FuzzMapBody feeds arbitrary verified bodies to the decoder. It must never panic; a body
// it accepts must become a CloudEvent that validates against its schema and carries the
// body, byte for byte (less surrounding whitespace), as data.raw; one it refuses is
// refused as a bad body (400).
// No broker: cheap enough for long runs (go test -fuzz FuzzMapBody ./bridge/webhook/).
func FuzzMapBody(f *testing.F) {
	for _, s := range []string{
		`{"summary":"Movement","deviceUuid":"D1","alertUuid":"A1","activityTrigger":"MOTION","location":"L","durationSec":8,"version":"2","timestampMs":1646942680190}`,
		`{"uuid":"R1","ruleUuid":"RULE","triggeredTimestampMs":"77","locationUuid":"L2","durationSec":-3,"summary":"a\u00e9\"b"}`,
		`{"deviceUuid":"D","diagnosticTrigger":"CAMERA_DISCONNECTED,POWER_LOSS","durationSec":null,"alertUuid":null}`,
		`{"version":"2","summary":"Test webhook"}`,
		`{"alertUuid":{"x":[1,2]},"timestampMs":"abc"}`,
		`{"alertUuid":"A","durationSec":"NaN","timestampMs":1e400}`,
		`{"alertUuid":"A","timestampMs":-5,"summary":["x"],"activityTrigger":7}`,
		`{"activityTrigger":"MOTION"}`, ` {"uuid":12} `, `{}`, `[]`, `null`, `{"a":`, "\xff{}", ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !utf8.Valid(raw) { // the handler answers 400 before decoding
			return
		}
		mp, err := mapBody(raw)
		if err != nil {
			if !errors.Is(err, errBadBody) {
				t.Fatalf("error %v does not wrap errBadBody", err)
			}
			return
		}
		if mp.invalid != nil {
			ev := event.Invalid(org, raw, mp.invalid, event.ViaWebhook)
			if !bytes.Equal(ev.Body, raw) {
				t.Fatal("an invalid record does not carry the body")
			}
			return
		}
		ev, err := event.Build(org, event.ViaWebhook, mp.data)
		if err != nil {
			t.Fatalf("accepted body not built: %v", err)
		}
		if err := validate.Event(ev.Body); err != nil {
			t.Fatalf("%v\n%s", err, ev.Body)
		}
		var ce v1.Event // raw is the body as sent, less surrounding JSON whitespace (doc.go)
		if err := json.Unmarshal(ev.Body, &ce); err != nil || !bytes.Equal(ce.Data.Raw, bytes.Trim(raw, " \t\r\n")) {
			t.Fatalf("data.raw %q, body %q (%v)", ce.Data.Raw, raw, err)
		}
	})
}

const org = "ORG1"

// FuzzReadBody reads arbitrary bodies, declared lengths and chunkings. The result must be
// the body exactly (within max, and within the declared length, which net/http enforces),
// or 413 past max; the budget must be within bounds while reading and whole again after.
func FuzzReadBody(f *testing.F) {
	f.Add([]byte(`{"a":1}`), int64(7), uint8(3))
	f.Add(bytes.Repeat([]byte("x"), 5000), int64(-1), uint8(0))
	f.Add(bytes.Repeat([]byte("x"), 4097), int64(4097), uint8(200))
	f.Add([]byte("short"), int64(100), uint8(1))
	f.Add([]byte{}, int64(0), uint8(0))
	const max = 4100
	f.Fuzz(func(t *testing.T, data []byte, declared int64, chunk uint8) {
		if declared > max || declared < -1 {
			return // the precheck answers 413 / net/http refuses
		}
		var r io.Reader = &chunked{data: data, n: int(chunk)}
		want := data
		if declared >= 0 {
			r = io.LimitReader(r, declared)
			want = data[:min(int64(len(data)), declared)]
		}
		b := &budget{max: 2 * max, gauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "x", Help: "x"})}
		got, held, code, err := readBody(r, declared, max, b)
		switch {
		case len(want) > max:
			if code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d bytes, max %d: %d %v", len(want), max, code, err)
			}
		case err != nil || !bytes.Equal(got, want):
			t.Fatalf("read %d of %d bytes: %d %v", len(got), len(want), code, err)
		}
		if held > 2*max || b.inUse() != held {
			t.Fatalf("held %d, budget in use %d", held, b.inUse())
		}
		b.give(held)
		if b.inUse() != 0 {
			t.Fatalf("budget not given back: %d", b.inUse())
		}
	})
}

// chunked returns data n bytes at a time (n 0: all at once).
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := len(p)
	if c.n > 0 {
		k = min(k, c.n)
	}
	k = copy(p[:k], c.data)
	c.data = c.data[k:]
	return k, nil
}

// FuzzScanBody: whatever scanBody reads, encoding/json reads alike into strictBody (the
// path it replaces); whatever it refuses takes that path.
func FuzzScanBody(f *testing.F) {
	for _, s := range []string{
		`{"summary":"Movement","deviceUuid":"D1","alertUuid":"A1","activityTrigger":"MOTION","location":"L","durationSec":8,"version":"2","timestampMs":1646942680190}`,
		`{"uuid":"R1","ruleUuid":"RULE","triggeredTimestampMs":77,"durationSec":-3.5e1,"x":{"y":[1,true,null]}}`,
		`{"alertUuid":"A","ALERTUUID":"B"}`, `{"alertUuid":"A","alertUuid":"B"}`, `{"summary":null}`,
		`{"timestampMs":1.0}`, `{"timestampMs":99999999999999999999}`, `{"durationSec":1e400}`, `{"a":"\u00e9"}`,
		` {"uuid":"x"} `, `{}`, `{"a":1}x`, "{\"summary\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := scanBody(raw)
		if !ok {
			return
		}
		var want strictBody
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("scanned %q, which encoding/json refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanned %q as %+v; encoding/json reads %+v", raw, got, want)
		}
	})
}
