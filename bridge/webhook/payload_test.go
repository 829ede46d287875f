package webhook

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

func TestMapBody(t *testing.T) {
	cases := []struct {
		name, body     string
		entity, change string
		uuid, device   string
		ts             int64
		kind           string
		triggers       []string
		invalid, bad   bool
	}{
		{name: "activity", body: `{"alertUuid":"A1","deviceUuid":"D1","timestampMs":1646942680190,"activityTrigger":"MOTION","version":"2"}`,
			entity: "POLICY_ALERT", change: "CREATE", uuid: "A1", device: "D1", ts: 1646942680190, kind: "activity", triggers: []string{"MOTION"}},
		{name: "odd types", body: `{"alertUuid":12345,"deviceUuid":"D1","timestampMs":"1646942680190","durationSec":"8.5","version":2,"summary":7,"location":null}`,
			entity: "POLICY_ALERT", change: "CREATE", uuid: "12345", device: "D1", ts: 1646942680190, kind: "activity"},
		{name: "two triggers", body: `{"alertUuid":"A2","activityTrigger":"MOTION, HUMAN_MOVEMENT,","timestampMs":1.7e12}`,
			entity: "POLICY_ALERT", change: "CREATE", uuid: "A2", ts: 1700000000000, kind: "activity", triggers: []string{"MOTION", "HUMAN_MOVEMENT"}},
		{name: "diagnostic alert", body: `{"alertUuid":"A3","deviceUuid":"D3","diagnosticTrigger":"CAMERA_DISCONNECTED","timestampMs":5}`,
			entity: "POLICY_ALERT", change: "CREATE", uuid: "A3", device: "D3", ts: 5, kind: "diagnostic", triggers: []string{"CAMERA_DISCONNECTED"}},
		{name: "diagnostic without alert", body: `{"deviceUuid":"D4","diagnosticTrigger":"CAMERA_DISCONNECTED","timestampMs":6,"summary":"Camera offline"}`,
			entity: "DEVICE_DIAGNOSTIC", change: "TRIGGER", device: "D4", ts: 6, kind: "diagnostic", triggers: []string{"CAMERA_DISCONNECTED"}},
		{name: "rule", body: `{"uuid":"R1","ruleUuid":"RULE","triggeredTimestampMs":77,"timestampMs":1,"deviceUuid":"D5"}`,
			entity: "RULE_ALERT", change: "TRIGGER", uuid: "R1", device: "D5", ts: 77},
		{name: "test webhook", body: `{"version":"2","summary":"Test webhook"}`, entity: "WEBHOOK_TEST", change: "TEST"},
		{name: "negative time", body: `{"alertUuid":"A6","timestampMs":-5}`, entity: "POLICY_ALERT", change: "CREATE", uuid: "A6", kind: "activity"},
		{name: "alert without uuid", body: `{"activityTrigger":"MOTION","deviceUuid":"D"}`, invalid: true},
		{name: "uuid without rule", body: `{"uuid":"U"}`, invalid: true},
		{name: "array", body: `[]`, bad: true},
		{name: "empty", body: ``, bad: true},
		{name: "id array", body: `{"ruleUuid":[1]}`, bad: true},
		{name: "id bool", body: `{"deviceUuid":true}`, bad: true},
		{name: "trailing garbage", body: `{"alertUuid":"A"} x`, bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := mapBody([]byte(c.body))
			if c.bad {
				if !errors.Is(err, errBadBody) {
					t.Fatalf("err %v, want a bad body", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.invalid != (m.invalid != nil) {
				t.Fatalf("invalid %v", m.invalid)
			}
			if c.invalid {
				return
			}
			d := m.data
			if d.Entity != c.entity || d.Type != c.change || d.EntityUUID != c.uuid || d.DeviceUUID != c.device ||
				d.TimestampMs != c.ts || d.AlertKind != c.kind || (c.triggers != nil && !slices.Equal(d.PolicyAlertTriggers, c.triggers)) {
				t.Fatalf("%+v", d)
			}
			if _, err := event.Build("O", event.ViaWebhook, d); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVerifyTestVector(t *testing.T) {
	v := newVerifier([]string{"other", "AAAAAAAAAAAAAAAAAAAAAA"})
	body := []byte(`{"version":"2","summary":"Test webhook"}`)
	h := map[string][]string{HeaderSHA1: {"7c67f32d7b1320f76fa6d171a1a54dd6808570b6"}}
	if !v.verify(h, body) {
		t.Fatal("contract test vector does not verify")
	}
	h[HeaderSHA1] = []string{"7c67f32d7b1320f76fa6d171a1a54dd6808570b7"}
	if v.verify(h, body) {
		t.Fatal("a wrong signature verifies")
	}
	for _, sig := range []string{"", "7c67", "zz67f32d7b1320f76fa6d171a1a54dd6808570b6", "7c67f32d7b1320f76fa6d171a1a54dd6808570b6aa"} {
		if v.verify(map[string][]string{HeaderSHA1: {sig}}, body) {
			t.Fatalf("%q verifies", sig)
		}
	}
}

func TestSeenBounded(t *testing.T) {
	s := newSeen(3)
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		s.add(id)
	}
	if s.has("a") || !s.has("b") || !s.has("c") || !s.has("d") || len(s.ids) != 3 {
		t.Fatalf("%v", s.ids)
	}
	for i := range 10 { // round the ring a few times: the newest three stay
		s.add(strconv.Itoa(i))
	}
	if !s.has("7") || !s.has("8") || !s.has("9") || s.has("6") || len(s.ids) != 3 || len(s.ring) != 3 {
		t.Fatalf("%v %v", s.ids, s.ring)
	}
	var off *seen
	off.add("x")
	if off.has("x") {
		t.Fatal("a nil cache remembers")
	}
}

// The strict fast path and the lenient fallback read well-typed bodies alike.
func TestStrictAndLenientAgree(t *testing.T) {
	for _, raw := range []string{
		`{"summary":"Movement","deviceUuid":" D1 ","alertUuid":"A1","activityTrigger":"MOTION","location":"L","durationSec":8,"version":"2","timestampMs":1646942680190}`,
		`{"uuid":"R1","ruleUuid":"RULE","triggeredTimestampMs":77,"locationUuid":"L2","durationSec":-3,"summary":"a\u00e9\"b"}`,
		`{"deviceUuid":"D","diagnosticTrigger":"CAMERA_DISCONNECTED","durationSec":null,"alertUuid":null}`,
	} {
		strict, err := decodeBody([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		var lenient body
		if err := json.Unmarshal([]byte(raw), &lenient); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(strict, lenient) {
			t.Fatalf("%s:\nstrict  %+v\nlenient %+v", raw, strict, lenient)
		}
	}
}
