package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/schemas/v1/validate"
)

const org = "ORG123"

func fixtures(t testing.TB) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("../../testdata/rhombus-samples.json")
	if err != nil {
		t.Fatalf("fixtures: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func parse(t *testing.T, raw []byte) event.Event {
	t.Helper()
	ev, err := event.ParseChange(org, raw, event.ViaWebSocket)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	if err := validate.Event(ev.Body); err != nil {
		t.Fatalf("schema-invalid event %s: %v", ev.Body, err)
	}
	return ev
}

func decode(t *testing.T, ev event.Event) v1.Event {
	t.Helper()
	var ce v1.Event
	if err := json.Unmarshal(ev.Body, &ce); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, ev.Body)
	}
	return ce
}

func TestFlatAlert(t *testing.T) {
	raw := fixtures(t)["websocket_flat_policy_alert"]
	ev := parse(t, raw)
	ce := decode(t, ev)
	if ev.ID != event.AlertID("a1b2c3d4-e5f6-7890-abcd-ef1234567890") || ce.ID != ev.ID {
		t.Fatalf("alert id %s is not the alert uuid's id", ev.ID)
	}
	if got, want := ev.Subject("rhombus"), "rhombus.v1.ORG123.policy_alert.create.d1e2f3a4-b5c6-7890-abcd-ef1234567890"; got != want {
		t.Fatalf("subject %s, want %s", got, want)
	}
	d := ce.Data
	if ce.Type != "com.rhombussystems.policy_alert.create.v1" || ce.Source != "/rhombus/orgs/ORG123" ||
		ce.Time != "2024-03-31T00:00:00.000Z" || ce.RhombusVia != "websocket" || ce.PartitionKey != d.DeviceUUID ||
		ce.Subject != d.DeviceUUID || ce.DataSchema != v1.SchemaURI("POLICY_ALERT") {
		t.Fatalf("envelope wrong: %+v", ce)
	}
	if d.DurationSec == nil || *d.DurationSec != 5.2 || len(d.PolicyAlertTriggers) != 2 ||
		d.TextDescription != "Person detected near entrance" || d.TimestampMs != 1711843200000 {
		t.Fatalf("data wrong: %+v", d)
	}
	if string(d.Raw) != string(raw) {
		t.Fatalf("raw changed:\n%s\n%s", d.Raw, raw)
	}
}

func TestNestedAlertTakesUpdateUUID(t *testing.T) {
	f := fixtures(t)
	ev := parse(t, f["websocket_nested_policy_alert"])
	if ev.EntityUUID != "BBBBBBBBBBBBBBBBBBBBBB" || ev.ID != event.AlertID("BBBBBBBBBBBBBBBBBBBBBB") {
		t.Fatalf("nested alert: uuid %q id %s", ev.EntityUUID, ev.ID)
	}
	if ev.DeviceUUID != "AAAAAAAAAAAAAAAAAAAAAA" || ev.TimestampMs != 1711843300000 {
		t.Fatalf("nested fields not lifted: %+v", ev)
	}
	flat := parse(t, []byte(`{"entity":"POLICY_ALERT","entityUuid":"BBBBBBBBBBBBBBBBBBBBBB","type":"CREATE","timestampMs":5}`))
	if flat.ID != ev.ID {
		t.Fatal("flat and nested copies of one alert must share the id")
	}
}

func TestOtherEntities(t *testing.T) {
	f := fixtures(t)
	dc := parse(t, f["websocket_device_config"])
	if dc.Subject("rhombus") != "rhombus.v1.ORG123.device_config.update.AAAAAAAAAAAAAAAAAAAAAA" {
		t.Fatal(dc.Subject("rhombus"))
	}
	unk := parse(t, f["websocket_unknown_entity"])
	if unk.Subject("rhombus") != "rhombus.v1.ORG123.door_state.update.none" || unk.Key() != "CCCCCCCCCCCCCCCCCCCCCC" {
		t.Fatalf("unknown entity: %s key %s", unk.Subject("rhombus"), unk.Key())
	}
	if decode(t, unk).DataSchema != v1.SchemaBase+"change.schema.json" {
		t.Fatal("unknown entities use the generic schema")
	}
	again := parse(t, f["websocket_device_config"])
	if again.ID != dc.ID || dc.ID == unk.ID {
		t.Fatal("ids must be deterministic and distinct")
	}
}

// Two different updates of one entity that carry no timestamp must not share an id: the
// second would be taken for a duplicate of the first and never stored. Redelivering the
// same bytes still collapses.
func TestUpdatesWithoutTimestampKeepDistinctIDs(t *testing.T) {
	a := parse(t, []byte(`{"entity":"DEVICE_CONFIG","entityUuid":"CAM1","type":"UPDATE","deviceUuid":"CAM1","name":"one"}`))
	b := parse(t, []byte(`{"entity":"DEVICE_CONFIG","entityUuid":"CAM1","type":"UPDATE","deviceUuid":"CAM1","name":"two"}`))
	again := parse(t, []byte(`{"entity":"DEVICE_CONFIG","entityUuid":"CAM1","type":"UPDATE","deviceUuid":"CAM1","name":"one"}`))
	if a.ID == b.ID {
		t.Fatalf("different timestamp-less updates share id %s", a.ID)
	}
	if again.ID != a.ID {
		t.Fatalf("the same bytes redelivered got a new id: %s vs %s", again.ID, a.ID)
	}
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestSubjectsNeverMalformed(t *testing.T) {
	raw := `{"entity":"POLICY.ALERT *","entityUuid":"x","type":"CRE>ATE","deviceUuid":"a.b c*>\u00e9\t"}`
	ev := parse(t, []byte(raw))
	s := ev.Subject("rhombus")
	parts := strings.Split(s, ".")
	if len(parts) != 6 {
		t.Fatalf("subject %q has %d tokens", s, len(parts))
	}
	for _, p := range parts {
		if !tokenRE.MatchString(p) {
			t.Fatalf("bad token %q in %q", p, s)
		}
	}
	if event.Token("") != "none" || event.Token("a.b") != "a_b" {
		t.Fatal("token rules")
	}
}

func TestInvalidInput(t *testing.T) {
	for _, raw := range []string{"", "not json", "[1,2]", `{"entityUuid":"x"}`, `{"entity":""}`, `{"entity":"A"`, "\x00\xff"} {
		_, err := event.ParseChange(org, []byte(raw), event.ViaWebSocket)
		if !errors.Is(err, event.ErrInvalid) {
			t.Errorf("%q: want ErrInvalid, got %v", raw, err)
			continue
		}
		inv := event.Invalid(org, []byte(raw), err, event.ViaWebSocket)
		if inv.Subject("rhombus") != "rhombus.v1.ORG123.invalid" || string(inv.Body) != raw || inv.ID == "" {
			t.Errorf("%q: invalid event %+v", raw, inv)
		}
	}
}

func TestLenientTypes(t *testing.T) {
	raw := `{"entity":"POLICY_ALERT","entityUuid":12,"type":"CREATE","timestampMs":"1711843200000","durationSec":"3.5",
	"policyAlertTriggers":["A",7,null],"deviceUuid":{"x":1},"textDescription":"<b>&\"\u2028"}`
	ev := parse(t, []byte(raw))
	d := decode(t, ev).Data
	if ev.EntityUUID != "12" || d.TimestampMs != 1711843200000 || *d.DurationSec != 3.5 || d.TextDescription != "<b>&\"\u2028" {
		t.Fatalf("lenient decode: %+v", d)
	}
}

func TestWithDeviceName(t *testing.T) {
	ev := parse(t, fixtures(t)["websocket_flat_policy_alert"])
	named := ev.WithDeviceName("Front door")
	if named.ID != ev.ID || decode(t, named).Data.DeviceName != "Front door" || decode(t, ev).Data.DeviceName != "" {
		t.Fatal("WithDeviceName must add the name to a copy and keep the id")
	}
	if err := validate.Event(named.Body); err != nil {
		t.Fatal(err)
	}
}

func TestFilter(t *testing.T) {
	f := event.NewFilter([]string{"policy_alert", " "})
	alert := parse(t, fixtures(t)["websocket_flat_policy_alert"])
	dc := parse(t, fixtures(t)["websocket_device_config"])
	inv := event.Invalid(org, []byte("x"), event.ErrInvalid, event.ViaWebSocket)
	if !f.Pass(&alert) || f.Pass(&dc) || !f.Pass(&inv) || !event.NewFilter(nil).Pass(&dc) {
		t.Fatal("filter")
	}
}

func FuzzParseChange(f *testing.F) {
	for _, s := range []string{`{"entity":"POLICY_ALERT","entityUuid":"a","type":"CREATE"}`,
		`{"entity":"X","update":{"uuid":"u","timestampMs":1e30,"durationSec":"NaN"}}`, `{}`, `"x"`, `{"entity":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := event.ParseChange(org, raw, event.ViaWebSocket)
		if err != nil {
			ev = event.Invalid(org, raw, err, event.ViaWebSocket)
			if ev.Subject("p") != "p.v1.ORG123.invalid" {
				t.Fatal(ev.Subject("p"))
			}
			return
		}
		if !json.Valid(ev.Body) {
			t.Fatalf("invalid JSON body for %q: %s", raw, ev.Body)
		}
		for _, p := range strings.Split(ev.Subject("p"), ".") {
			if !tokenRE.MatchString(p) {
				t.Fatalf("bad subject token %q", p)
			}
		}
	})
}

func BenchmarkParseChange(b *testing.B) {
	raw := fixtures(b)["websocket_flat_policy_alert"]
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := event.ParseChange(org, raw, event.ViaWebSocket); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGapEvent(t *testing.T) {
	g := v1.GapData{Instance: "a", StartMs: 1000, EndMs: 5000, Cause: "disconnect", AlertsRecovered: 3, NonAlertEventsMayBeMissed: true}
	ev, err := event.BuildGap(org, g)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Event(ev.Body); err != nil {
		t.Fatalf("gap event not schema-valid: %v\n%s", err, ev.Body)
	}
	if ev.Subject("rhombus") != "rhombus.v1.ORG123.bridge_gap.closed.none" {
		t.Fatal(ev.Subject("rhombus"))
	}
	again, _ := event.BuildGap(org, g)
	if again.ID != ev.ID {
		t.Fatal("gap ids must be deterministic")
	}
}

func TestNegativeOrOddDurationsStaySchemaValid(t *testing.T) {
	for _, d := range []string{`-5`, `"-1.5"`, `1e300`, `"NaN"`, `"abc"`} {
		raw := `{"entity":"POLICY_ALERT","entityUuid":"x","type":"CREATE","durationSec":` + d + `}`
		ev := parse(t, []byte(raw)) // parse validates against the schema
		if got := decode(t, ev).Data.DurationSec; got == nil || *got != 0 {
			t.Errorf("durationSec %s → %v, want 0", d, got)
		}
	}
}

// raw is the payload exactly as sent, surrounding whitespace included, and the CloudEvent
// stays valid JSON (parse validates it against the schema).
func TestRawKeptExactlyAsSent(t *testing.T) {
	raw := " \r\n{\"entity\":\"DEVICE_CONFIG\",\"entityUuid\":\"CAM1\",\"type\":\"UPDATE\",\"timestampMs\":5}\n\t"
	ev := parse(t, []byte(raw))
	if !strings.Contains(string(ev.Body), `"raw":`+raw) { // (a JSON decoder drops the spaces again)
		t.Fatalf("body does not carry raw verbatim: %s", ev.Body)
	}
	if _, err := event.ParseChange(org, []byte("\f{\"entity\":\"X\"}"), event.ViaWebSocket); err == nil {
		t.Fatal("a form feed is not JSON whitespace: the payload is not a JSON object")
	}
}

// An event that comes back from the spool carries its encoded body but not its parsed
// data: enrichment must still add the device name, and raw must survive.
func TestEnrichAfterSpoolRoundTrip(t *testing.T) {
	raw := fixtures(t)["websocket_flat_policy_alert"]
	orig := parse(t, raw)
	back := event.Event{ID: orig.ID, Org: orig.Org, Entity: orig.Entity, Change: orig.Change,
		EntityUUID: orig.EntityUUID, DeviceUUID: orig.DeviceUUID, Via: orig.Via,
		TimestampMs: orig.TimestampMs, Body: orig.Body} // what the spool keeps
	named := back.WithDeviceName("Front door")
	ce := decode(t, named)
	if ce.Data.DeviceName != "Front door" || string(ce.Data.Raw) != string(raw) || ce.ID != orig.ID {
		t.Fatalf("after the spool: name %q, raw kept %v, id %s", ce.Data.DeviceName, string(ce.Data.Raw) == string(raw), ce.ID)
	}
	if err := validate.Event(named.Body); err != nil {
		t.Fatal(err)
	}
	if d := back.Data(); string(d.Raw) != string(raw) || d.TimestampMs != orig.TimestampMs {
		t.Fatalf("Data() after the spool: %+v", d)
	}
}

// The name is spliced into a copy: the result is byte for byte what encoding the named
// data would give, and the original body, which a sink may be reading, is untouched.
func TestWithDeviceNameSplicesIntoACopy(t *testing.T) {
	ev := parse(t, fixtures(t)["websocket_flat_policy_alert"])
	before := string(ev.Body)
	named := ev.WithDeviceName(`Door "A" <1>`)
	d := ev.Data()
	d.DeviceName = `Door "A" <1>`
	want, err := event.Build(ev.Org, ev.Via, d)
	if err != nil {
		t.Fatal(err)
	}
	if string(named.Body) != string(want.Body) || string(ev.Body) != before {
		t.Fatalf("spliced body differs from an encoded one or the original changed:\n%s\n%s", named.Body, want.Body)
	}
	renamed := named.WithDeviceName("Back door")
	if got := decode(t, renamed).Data.DeviceName; got != "Back door" || decode(t, named).Data.DeviceName != `Door "A" <1>` {
		t.Fatalf("renaming gave %q", got)
	}
	if err := validate.Event(renamed.Body); err != nil {
		t.Fatal(err)
	}
}

// Ids are part of the contract (Nats-Msg-Id, dedup across restarts): they must never change.
func TestIDsAreStable(t *testing.T) {
	for got, want := range map[string]string{
		event.ID("policy_alert", "create", "a1", 0, nil):                "e96b954a-d5b7-5e59-a3aa-7baff6ad7392",
		event.ID("DEVICE_CONFIG", "update", "CAM1", 1711843200000, nil): "ffea42a3-f6f2-5daf-8585-bd5dcc9196cf",
		event.ID("X", "Y", "", 0, []byte("raw")):                        "dd95d773-8e36-5c2d-8884-a9d74dd7ba25",
	} {
		if got != want {
			t.Errorf("id %s, want %s", got, want)
		}
	}
}

// An event back from the spool (body only) gets the name spliced in at the same place as
// a live one: the same bytes, no decode. One that has a name already is renamed properly.
func TestSpooledEventSplicesLikeALiveOne(t *testing.T) {
	f := fixtures(t)
	f["odd_device"] = []byte(`{"entity":"POLICY_ALERT","entityUuid":"x","type":"CREATE","deviceUuid":"d\"q\\\\\",\"deviceUuid\":","timestampMs":5}`)
	f["no_device"] = []byte(`{"entity":"DOOR","entityUuid":"x","type":"UPDATE"}`)
	for _, key := range []string{"websocket_flat_policy_alert", "websocket_nested_policy_alert", "websocket_device_config", "odd_device", "no_device"} {
		orig := parse(t, f[key])
		back := spooled(orig)
		live, again := orig.WithDeviceName("Lobby <2>"), back.WithDeviceName("Lobby <2>")
		if string(live.Body) != string(again.Body) {
			t.Fatalf("%s: spooled splice differs:\n%s\n%s", key, again.Body, live.Body)
		}
		renamed := spooled(live).WithDeviceName("Hall")
		if got := decode(t, renamed).Data.DeviceName; got != "Hall" {
			t.Fatalf("%s: renamed a spooled named event to %q", key, got)
		}
		if err := validate.Event(renamed.Body); err != nil {
			t.Fatal(err)
		}
	}
}

// spooled is what the spool gives back: the fields it keeps and the encoded body.
func spooled(ev event.Event) event.Event {
	return event.Event{ID: ev.ID, Org: ev.Org, Entity: ev.Entity, Change: ev.Change,
		EntityUUID: ev.EntityUUID, DeviceUUID: ev.DeviceUUID, Via: ev.Via,
		TimestampMs: ev.TimestampMs, Body: ev.Body}
}

// A device named as the event is parsed is encoded once, with its name: enrichment with
// the same name changes nothing. Without a name the event is ParseChange's.
func TestParseChangeNamed(t *testing.T) {
	raw := fixtures(t)["websocket_flat_policy_alert"]
	plain := parse(t, raw)
	named, err := event.ParseChangeNamed(org, raw, event.ViaWebSocket, func(string) string { return "Lobby" })
	if err != nil {
		t.Fatal(err)
	}
	if named.ID != plain.ID || named.Data().DeviceName != "Lobby" || !bytes.Contains(named.Body, []byte(`"deviceName":"Lobby"`)) {
		t.Fatalf("named event %s", named.Body)
	}
	if again := named.WithDeviceName("Lobby"); !bytes.Equal(again.Body, named.Body) {
		t.Fatal("enriching with the same name changed the body")
	}
	if spliced := plain.WithDeviceName("Lobby"); !bytes.Equal(spliced.Body, named.Body) {
		t.Fatalf("named at parse:\n%s\nspliced in later:\n%s", named.Body, spliced.Body)
	}
	// As it comes back from the spool (the body only): the name is seen in the body, not
	// decoded (that took encoding/json per event in a burst); another name is encoded.
	back := event.Event{ID: named.ID, Org: named.Org, Entity: named.Entity, Change: named.Change,
		EntityUUID: named.EntityUUID, DeviceUUID: named.DeviceUUID, Via: named.Via, TimestampMs: named.TimestampMs,
		Body: named.Body}
	var same event.Event
	if allocs := testing.AllocsPerRun(20, func() { same = back.WithDeviceName("Lobby") }); allocs > 1 ||
		!bytes.Equal(same.Body, named.Body) {
		t.Fatalf("renaming a spooled event with its own name: %v allocations\n%s", allocs, same.Body)
	}
	if renamed := back.WithDeviceName("Hall"); renamed.Data().DeviceName != "Hall" {
		t.Fatalf("renamed %s", renamed.Body)
	}
	unnamed, err := event.ParseChangeNamed(org, raw, event.ViaWebSocket, func(string) string { return "" })
	if err != nil || !bytes.Equal(unnamed.Body, plain.Body) {
		t.Fatalf("no name known: %v\n%s", err, unnamed.Body)
	}
}
