package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/schemas/v1/validate"
)

// The contract's test vector, end to end: it verifies, is acknowledged, and lands as a
// WEBHOOK_TEST event.
func TestContractTestVector(t *testing.T) {
	const vecSecret = "AAAAAAAAAAAAAAAAAAAAAA"
	body := []byte(`{"version":"2","summary":"Test webhook"}`)
	if got := sign1(vecSecret, body); got != "7c67f32d7b1320f76fa6d171a1a54dd6808570b6" {
		t.Fatalf("test vector: %s", got)
	}
	e := newEnv(t, func(c *webhook.Config) { c.Secrets = []string{vecSecret} })
	resp, msg := post(t, e.url, body, map[string]string{"x-rhombus-signature-sha1": "7c67f32d7b1320f76fa6d171a1a54dd6808570b6"})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, msg)
	}
	msgs := messages(t, e.nats.URL())
	if len(msgs) != 1 || msgs[0].Subject != "rhombus.v1.ORG1.webhook_test.test.none" {
		t.Fatalf("%d messages %v", len(msgs), msgs)
	}
	if err := validate.Event(msgs[0].Data); err != nil {
		t.Fatal(err)
	}
	ce := decode(t, msgs[0])
	if ce.Data.Entity != webhook.EntityWebhookTest || string(ce.Data.Raw) != string(body) {
		t.Fatalf("%+v", ce.Data)
	}
}

// Five deliveries of one alert: five 200s, one message; the repeats are answered from the
// id cache and counted.
func TestFiveDeliveriesOneMessage(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(c *webhook.Config) { c.Registerer = reg })
	body := alertBody("ALERT-5X")
	for i := range 5 {
		if resp, msg := post(t, e.url, body, signed1(body)); resp.StatusCode != 200 {
			t.Fatalf("delivery %d: %d %s", i+1, resp.StatusCode, msg)
		}
	}
	msgs := messages(t, e.nats.URL())
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	checkAlert(t, msgs[0], "ALERT-5X", body)
	if got := metric(t, reg, "rhombus_bridge_webhook_duplicates_total", ""); got != 4 {
		t.Fatalf("duplicates %v, want 4", got)
	}
	if got := metric(t, reg, "rhombus_bridge_webhook_requests_total", "200"); got != 5 {
		t.Fatalf("requests{code=200} %v, want 5", got)
	}
	if got := metric(t, reg, "rhombus_bridge_webhook_latency_seconds", ""); got != 5 {
		t.Fatalf("latency observations %v, want 5", got)
	}
}

// A webhook for an alert the WebSocket already delivered: 200, and the stream keeps the
// one (WebSocket) copy, because both carry the same id.
func TestWebhookAfterWebSocketCopy(t *testing.T) {
	e := newEnv(t, nil)
	const uuid = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
	flat := `{"entity":"POLICY_ALERT","entityUuid":"` + uuid + `","type":"CREATE","deviceUuid":"d1e2f3a4-b5c6-7890-abcd-ef1234567890",` +
		`"timestampMs":1711843200000,"durationSec":5.2,"policyAlertTriggers":["PERSON_DETECTED","LOITERING"],` +
		`"textDescription":"Person detected near entrance"}`
	ws, err := event.ParseChange(org, []byte(flat), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sink.Publish(ctx, ws); err != nil {
		t.Fatal(err)
	}
	body := alertBody(uuid)
	for i := range 2 {
		if resp, msg := post(t, e.url, body, signed1(body)); resp.StatusCode != 200 {
			t.Fatalf("delivery %d: %d %s", i+1, resp.StatusCode, msg)
		}
	}
	msgs := messages(t, e.nats.URL())
	if len(msgs) != 1 || msgs[0].Header.Get("Nats-Msg-Id") != event.AlertID(uuid) || ws.ID != event.AlertID(uuid) {
		t.Fatalf("%d messages", len(msgs))
	}
	if ce := decode0(t, msgs[0].Data); ce.RhombusVia != "websocket" {
		t.Fatalf("kept the %s copy", ce.RhombusVia)
	}
}

// JetStream stopped: no 200 but 503 with Retry-After within the ack timeout; restarted:
// the sender's retry lands, once.
func TestJetStreamDown(t *testing.T) {
	const ackTimeout = 400 * time.Millisecond
	e := newEnv(t, func(c *webhook.Config) { c.AckTimeout = ackTimeout })
	body := alertBody("ALERT-DOWN")
	e.nats.Stop()
	for range 2 {
		start := time.Now()
		resp, msg := post(t, e.url, body, signed1(body))
		took := time.Since(start)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("broker down: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
		}
		if took < ackTimeout || took > ackTimeout+2*time.Second {
			t.Fatalf("503 after %v, ack timeout %v", took, ackTimeout)
		}
	}
	e.nats.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, msg := post(t, e.url, body, signed1(body))
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("after restart: %d %s", resp.StatusCode, msg)
		}
	}
	msgs := messages(t, e.nats.URL())
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	checkAlert(t, msgs[0], "ALERT-DOWN", body)
}

// Concurrency verified requests in progress (held by a stopped broker): the next
// verified one gets 429 with Retry-After.
func TestSaturated429(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.Concurrency = 2; c.AckTimeout = 5 * time.Second })
	e.nats.Stop()
	done := make(chan int, 2)
	for i := range 2 {
		body := alertBody("ALERT-BUSY-" + string(rune('A'+i)))
		go func() {
			resp, _ := post(t, e.url, body, signed1(body))
			done <- resp.StatusCode
		}()
	}
	waitFor(t, func() bool { return e.h.InFlight() == 2 })
	body := alertBody("ALERT-BUSY-C")
	resp, msg := post(t, e.url, body, signed1(body))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
	}
	e.nats.Restart()
	for range 2 {
		if code := <-done; code != 200 {
			t.Fatalf("held request: %d", code)
		}
	}
}

func TestOrgUnknownAndOtherPaths(t *testing.T) {
	var known string
	e := newEnv(t, func(c *webhook.Config) {
		c.OrgUUID = func() string { return known }
		c.MaxBytes = 1000
	})
	body := alertBody("ALERT-ORG")
	if resp, _ := post(t, e.url, body, signed1(body)); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("org unknown: %d", resp.StatusCode)
	}
	if resp, _ := post(t, e.url, body, nil); resp.StatusCode != 401 {
		t.Fatalf("unsigned, org unknown: %d", resp.StatusCode)
	}
	if resp, _ := post(t, strings.TrimSuffix(e.url, webhook.DefaultPath)+"/other", body, signed1(body)); resp.StatusCode != 404 {
		t.Fatalf("other path: %d", resp.StatusCode)
	}
	// A chunked body (no Content-Length) past MaxBytes: 413 after reading MaxBytes+1.
	big := []byte(`{"summary":"` + strings.Repeat("x", 2000) + `"}`)
	req, _ := http.NewRequest("POST", e.url, io.MultiReader(strings.NewReader(string(big))))
	req.Header.Set(webhook.HeaderSHA1, sign1(secret1, big))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("chunked too large: %d (content length %d)", resp.StatusCode, req.ContentLength)
	}
	known = org
	if resp, _ := post(t, e.url, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("org known: %d", resp.StatusCode)
	}
}

func decode0(t *testing.T, b []byte) v1.Event {
	t.Helper()
	var ce v1.Event
	if err := json.Unmarshal(b, &ce); err != nil {
		t.Fatal(err)
	}
	return ce
}

// metric is the value of a counter (with the given code label, if any) or the sample
// count of a histogram.
func metric(t *testing.T, reg *prometheus.Registry, name, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if code != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != code) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s{%s}", name, code)
	return 0
}

// waitFor polls cond until it holds (10s at most).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Diagnostic webhooks land with their documented mapping; an alert body that cannot be
// identified is acknowledged and goes to the invalid subject, never dropped.
func TestDiagnosticAndUnidentified(t *testing.T) {
	e := newEnv(t, nil)
	bodies := []string{
		`{"alertUuid":"DIAG-ALERT","deviceUuid":"CAM7","diagnosticTrigger":"CAMERA_DISCONNECTED","summary":"Camera offline","timestampMs":1711843200000,"version":2}`,
		`{"deviceUuid":"CAM8","diagnosticTrigger":"CAMERA_DISCONNECTED","summary":"Camera offline","timestampMs":1711843200001,"version":"2"}`,
		`{"deviceUuid":"CAM9","activityTrigger":"MOTION","timestampMs":1711843200002}`,
	}
	for _, b := range bodies {
		if resp, msg := post(t, e.url, []byte(b), signed1([]byte(b))); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", b, resp.StatusCode, msg)
		}
	}
	msgs := messages(t, e.nats.URL())
	want := []string{"rhombus.v1.ORG1.policy_alert.create.CAM7", "rhombus.v1.ORG1.device_diagnostic.trigger.CAM8",
		"rhombus.v1.ORG1.invalid"}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, m := range msgs {
		if m.Subject != want[i] {
			t.Fatalf("message %d on %s, want %s", i, m.Subject, want[i])
		}
	}
	for _, m := range msgs[:2] {
		if err := validate.Event(m.Data); err != nil {
			t.Fatalf("%s: %v", m.Subject, err)
		}
		if ce := decode(t, m); ce.Data.AlertKind != "diagnostic" || ce.Data.PolicyAlertTriggers[0] != "CAMERA_DISCONNECTED" {
			t.Fatalf("%+v", ce.Data)
		}
	}
	if decode0(t, msgs[0].Data).ID != event.AlertID("DIAG-ALERT") || string(msgs[2].Data) != bodies[2] ||
		msgs[2].Header.Get("Rhombus-Invalid-Reason") == "" {
		t.Fatalf("ids or invalid record wrong: %v", msgs[2].Header)
	}
}

// With DeviceName, the event is encoded with the camera's name as it is built.
func TestDeviceNameAtBuild(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) {
		c.DeviceName = func(uuid string) string { return "name of " + uuid }
	})
	body := alertBody("ALERT-NAMED")
	if resp, msg := post(t, e.url, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, msg)
	}
	msgs := messages(t, e.nats.URL())
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if ce := decode(t, msgs[0]); ce.Data.DeviceUUID == "" || ce.Data.DeviceName != "name of "+ce.Data.DeviceUUID {
		t.Fatalf("%+v", ce.Data)
	}
}
