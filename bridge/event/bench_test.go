package event_test

import (
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// BenchmarkParseEnrichEncode is the live path's event-model cost for one typical alert:
// parse the frame body, add the device name, and take the body a sink publishes.
func BenchmarkParseEnrichEncode(b *testing.B) {
	raw := fixtures(b)["websocket_flat_policy_alert"]
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	n := 0
	for b.Loop() {
		n += len(parseEnrichEncode(b, raw))
	}
	if n == 0 {
		b.Fatal("no body")
	}
}

func parseEnrichEncode(tb testing.TB, raw []byte) []byte {
	ev, err := event.ParseChange(org, raw, event.ViaWebSocket)
	if err != nil {
		tb.Fatal(err)
	}
	named := ev.WithDeviceName("Front door")
	return named.Body
}

// BenchmarkSpooledWithDeviceName is enrichment of an event that came back from the spool
// with its body only (the live path with the spool on, the default).
func BenchmarkSpooledWithDeviceName(b *testing.B) {
	ev, err := event.ParseChange(org, fixtures(b)["websocket_flat_policy_alert"], event.ViaWebSocket)
	if err != nil {
		b.Fatal(err)
	}
	back := event.Event{ID: ev.ID, Org: ev.Org, Entity: ev.Entity, Change: ev.Change,
		DeviceUUID: ev.DeviceUUID, Via: ev.Via, Body: ev.Body}
	b.ReportAllocs()
	for b.Loop() {
		if len(back.WithDeviceName("Front door").Body) == len(ev.Body) {
			b.Fatal("no name added")
		}
	}
}
