package webhook_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/schemas/v1/validate"
)

const ruleBody = `{"uuid":"RULEALERT1","ruleUuid":"RULE9","deviceUuid":"DEV2","triggeredTimestampMs":"1711843200123",` +
	`"summary":"Door held open","version":2}`

func TestStatuses(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.MaxBytes = 4096 })
	alert := alertBody("ALERT-T1")
	rule := []byte(ruleBody)
	big := bytes.Repeat([]byte(" "), 5000)
	cases := []struct {
		name   string
		method string
		body   []byte
		hdr    map[string]string
		want   int
	}{
		{"valid sha1", "POST", alert, signed1(alert), 200},
		{"valid sha256", "POST", rule, map[string]string{webhook.HeaderSHA256: sign256(secret1, rule)}, 200},
		{"second secret", "POST", alert, map[string]string{webhook.HeaderSHA1: sign1(secret2, alert)}, 200},
		{"upper-case hex", "POST", alert, map[string]string{webhook.HeaderSHA1: strings.ToUpper(sign1(secret1, alert))}, 200},
		{"wrong secret", "POST", alert, map[string]string{webhook.HeaderSHA1: sign1("nope", alert)}, 401},
		{"sha256 value in sha1 header", "POST", alert, map[string]string{webhook.HeaderSHA1: sign256(secret1, alert)}, 401},
		{"missing header", "POST", alert, nil, 401},
		{"empty header", "POST", alert, map[string]string{webhook.HeaderSHA1: ""}, 401},
		{"tampered body", "POST", append(bytes.Clone(alert[:len(alert)-1]), ' ', '}'), signed1(alert), 401},
		{"not JSON", "POST", []byte("hello"), signed1([]byte("hello")), 400},
		{"JSON array", "POST", []byte("[1,2]"), signed1([]byte("[1,2]")), 400},
		{"truncated JSON", "POST", alert[:40], signed1(alert[:40]), 400},
		{"id is an object", "POST", []byte(`{"alertUuid":{"a":1}}`), signed1([]byte(`{"alertUuid":{"a":1}}`)), 400},
		{"not UTF-8", "POST", []byte("{\"summary\":\"\xff\"}"), signed1([]byte("{\"summary\":\"\xff\"}")), 400},
		{"wrong method", "GET", nil, nil, 405},
		{"too large", "POST", big, signed1(big), 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.url, bytes.NewReader(c.body))
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, c.want)
			}
			if c.want == 405 && resp.Header.Get("Allow") != "POST" {
				t.Fatalf("Allow %q", resp.Header.Get("Allow"))
			}
		})
	}
	msgs := messages(t, e.nats.URL())
	if len(msgs) != 2 { // the alert (three deliveries, one id) and the rule alert
		t.Fatalf("%d messages in the stream, want 2", len(msgs))
	}
	for _, m := range msgs {
		if err := validate.Event(m.Data); err != nil {
			t.Errorf("%s: %v\n%s", m.Subject, err, m.Data)
		}
	}
	checkAlert(t, msgs[0], "ALERT-T1", alert)
	checkRule(t, msgs[1], rule)
}

func decode(t *testing.T, m jetstream.RawStreamMsg) v1.Event {
	t.Helper()
	var ce v1.Event
	if err := json.Unmarshal(m.Data, &ce); err != nil {
		t.Fatalf("%v: %s", err, m.Data)
	}
	if m.Header.Get("Nats-Msg-Id") != ce.ID || ce.RhombusVia != "webhook" || ce.RhombusOrg != org {
		t.Fatalf("headers %v, event %+v", m.Header, ce)
	}
	return ce
}

func checkAlert(t *testing.T, m jetstream.RawStreamMsg, uuid string, raw []byte) {
	t.Helper()
	ce := decode(t, m)
	d := ce.Data
	if ce.ID != event.AlertID(uuid) || m.Subject != "rhombus.v1.ORG1.policy_alert.create.AAAAAAAAAAAAAAAAAAAAAA" ||
		ce.Type != "com.rhombussystems.policy_alert.create.v1" {
		t.Fatalf("id %s subject %s type %s", ce.ID, m.Subject, ce.Type)
	}
	if d.Entity != "POLICY_ALERT" || d.Type != "CREATE" || d.EntityUUID != uuid || d.TimestampMs != 1646942680190 ||
		d.DeviceUUID != "AAAAAAAAAAAAAAAAAAAAAA" || d.LocationUUID != "CCCCCCCCCCCCCCCCCCCCCC" ||
		d.TextDescription != "Movement detected at HQ" || d.AlertKind != "activity" ||
		len(d.PolicyAlertTriggers) != 1 || d.PolicyAlertTriggers[0] != "MOTION" ||
		d.DurationSec == nil || *d.DurationSec != 8 || !bytes.Equal(d.Raw, raw) {
		t.Fatalf("data %+v", d)
	}
}

func checkRule(t *testing.T, m jetstream.RawStreamMsg, raw []byte) {
	t.Helper()
	ce := decode(t, m)
	d := ce.Data
	if m.Subject != "rhombus.v1.ORG1.rule_alert.trigger.DEV2" || ce.Type != "com.rhombussystems.rule_alert.trigger.v1" ||
		!strings.HasSuffix(ce.DataSchema, "rule_alert.schema.json") {
		t.Fatalf("subject %s type %s schema %s", m.Subject, ce.Type, ce.DataSchema)
	}
	if d.Entity != "RULE_ALERT" || d.EntityUUID != "RULEALERT1" || d.RuleUUID != "RULE9" ||
		d.TimestampMs != 1711843200123 || d.TextDescription != "Door held open" || !bytes.Equal(d.Raw, raw) {
		t.Fatalf("data %+v", d)
	}
}
