package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

func admin(t *testing.T, s *Server, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
	}
	return resp.StatusCode
}

func TestAdminAPI(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	var a Alert
	if st := admin(t, s, "POST", "/_sim/alerts", `{"shape":"nested","policyAlertTriggers":["LOITERING"]}`, &a); st != 200 || a.UUID == "" || a.Live != 1 {
		t.Fatalf("%d %+v", st, a)
	}
	if m := c.expect(frame.MESSAGE); !bytes.Contains(m.Body, []byte(a.UUID)) {
		t.Fatalf("%s", m.Body)
	}
	var reached map[string]int
	admin(t, s, "POST", "/_sim/emit", `{"entity":"DOOR_STATE"}`, &reached)
	if reached["reached"] != 1 {
		t.Fatalf("%v", reached)
	}
	c.expect(frame.MESSAGE)
	var st Stats
	admin(t, s, "GET", "/_sim/stats", "", &st)
	if st.Subscriptions != 1 || st.Alerts != 1 || st.Emitted != 2 {
		t.Fatalf("%+v", st)
	}
	if code := admin(t, s, "POST", "/_sim/framing", `{"mode":"nope"}`, nil); code != 400 {
		t.Fatalf("bad framing: %d", code)
	}
	admin(t, s, "POST", "/_sim/framing", `{"mode":"packed,eol"}`, nil)
	if s.Framing() != FramePacked|FrameLeadingEOL {
		t.Fatalf("framing %v", s.Framing())
	}
	admin(t, s, "POST", "/_sim/paging", `{"pageCap":7,"newestFirst":true}`, nil)
	if cfg := s.Config(); cfg.RESTPageCap != 7 || !cfg.NewestFirst {
		t.Fatalf("paging %d %v", cfg.RESTPageCap, cfg.NewestFirst)
	}
	admin(t, s, "POST", "/_sim/faults/rest429", `{"n":1,"retryAfterMs":2000}`, nil)
	if r := post(t, s, "/api/org/getOrgV2", "{}", nil); r.StatusCode != 429 || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("%d", r.StatusCode)
	}
	admin(t, s, "POST", "/_sim/faults/refuse", `{"status":403,"n":1}`, nil)
	if _, resp, _ := dialRaw(s, testKey, "api-token"); resp == nil || resp.StatusCode != 403 {
		t.Fatalf("refuse: %v", resp)
	}
	admin(t, s, "POST", "/_sim/faults/error", `{"message":"bye"}`, nil)
	if e := c.expect(frame.ERROR); e.Header.Get(frame.Message) != "bye" {
		t.Fatalf("%v", e.Header)
	}
	// The generator over the admin API fills the history.
	admin(t, s, "POST", "/_sim/generator", `{"rate":0,"count":20,"mix":{"flat":1}}`, nil)
	if err := s.Wait(ctxT(t, 5*time.Second), func() bool { return s.Stats().Alerts == 21 }); err != nil {
		t.Fatal(err)
	}
	var alerts []Alert
	admin(t, s, "GET", "/_sim/alerts", "", &alerts)
	if len(alerts) != 21 || alerts[0].UUID != a.UUID {
		t.Fatalf("%d alerts", len(alerts))
	}
}

func TestAdminConnectionFaults(t *testing.T) {
	s := start(t, Config{})
	for _, path := range []string{"/_sim/faults/drop", "/_sim/faults/reset", "/_sim/faults/close", "/_sim/faults/silent"} {
		c := subscribed(t, s)
		var out map[string]int
		admin(t, s, "POST", path, "", &out)
		if out["connections"] < 1 {
			t.Fatalf("%s: %v", path, out)
		}
		if path == "/_sim/faults/silent" {
			drain(t, c, 200*time.Millisecond)
			continue
		}
		if _, err := c.next(); err == nil {
			t.Fatalf("%s: still open", path)
		}
	}
	admin(t, s, "POST", "/_sim/faults/clear", "", nil)
}

func TestWebhookRegistrationAndDelivery(t *testing.T) {
	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer recv.Close()
	s := start(t, Config{DeliverWebhooks: true})
	var out struct {
		Secret string `json:"webhookSecret"`
	}
	post(t, s, "/api/integrations/webhooks/updateWebhookIntegrationV2",
		`{"webhookUrl":"`+recv.URL+`","disabled":false,"isDiagnostic":false}`, &out)
	if out.Secret == "" {
		t.Fatal("no secret")
	}
	var settings struct {
		W WebhookSettings `json:"webhookSettings"`
	}
	post(t, s, "/api/integrations/webhooks/getWebhookIntegration", "{}", &settings)
	if settings.W.URL != recv.URL || settings.W.Secret != out.Secret {
		t.Fatalf("%+v", settings)
	}
	a := s.CreateAlert(Alert{})
	var r *http.Request
	select {
	case r = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivered")
	}
	body := <-bodies
	if r.Header.Get(HeaderSHA1) != SignSHA1(out.Secret, body) || !bytes.Equal(body, a.WebhookBody()) {
		t.Fatalf("signature %q body %s", r.Header.Get(HeaderSHA1), body)
	}
	// The admin API sends the webhook copy of an alert on demand, signed sha256.
	var res WebhookResult
	admin(t, s, "POST", "/_sim/webhooks/send", `{"url":"`+recv.URL+`","alertUuid":"`+a.UUID+`","secret":"k","kind":"sha256"}`, &res)
	r = <-got
	body = <-bodies
	if res.Status != 200 || r.Header.Get(HeaderSHA256) != SignSHA256("k", body) {
		t.Fatalf("%+v %v", res, r.Header)
	}
}

func TestRunAndParseOptions(t *testing.T) {
	env := map[string]string{"RHOMBUS_API_KEY": "k1", "SIM_RATE": "200", "SIM_FRAMING": "split"}
	o, err := ParseOptions([]string{"-listen", "127.0.0.1:0", "-org", "ORGX", "-heartbeat", "0"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.APIKey != "k1" || o.Rate != 200 || o.OrgUUID != "ORGX" || o.Framing != FrameSplit || o.Heartbeat != -1 {
		t.Fatalf("%+v", o)
	}
	if _, err := ParseOptions([]string{"-rate", "x"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("bad rate accepted")
	}
	o.Logger = quiet()
	ready := make(chan *Server, 1)
	o.Ready = func(s *Server) { ready <- s }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	var s *Server
	select {
	case s = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(s.WSURL()+"?x-auth-scheme=api-token", http.Header{"X-Auth-Apikey": {"k1"}})
	if err != nil {
		t.Fatalf("%v %v", resp, err)
	}
	c := &client{t: t, ws: ws, wait: 5 * time.Second}
	c.rd = newTestReader(c)
	c.connect("0,0")
	c.subscribe(s)
	c.expect(frame.MESSAGE) // the generator is running
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = ws.Close()
}

func newTestReader(c *client) *frame.Reader {
	return frame.NewReader(&countingStream{c: c})
}
