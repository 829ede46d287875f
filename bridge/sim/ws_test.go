package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

func TestHandshakeAuth(t *testing.T) {
	s := start(t, Config{})
	cases := []struct{ name, key, scheme string }{
		{"wrong key", "nope", "api-token"},
		{"no key", "", "api-token"},
		{"no scheme", testKey, ""},
		{"bad scheme", testKey, "bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := dialRaw(s, tc.key, tc.scheme)
			if err == nil {
				_ = ws.Close()
				t.Fatal("handshake succeeded")
			}
			if resp == nil || resp.StatusCode != 401 {
				t.Fatalf("want 401, got %v (%v)", resp, err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if len(body) == 0 {
				t.Fatal("401 without a body")
			}
		})
	}
	if st := s.Stats(); st.Unauthorized != len(cases) || st.ConnectionsTotal != 0 {
		t.Fatalf("stats %+v", st)
	}
	ws, resp, err := dialRaw(s, testKey, "partner-api-token")
	if err != nil {
		t.Fatalf("partner scheme: %v %v", resp, err)
	}
	_ = ws.Close()
}

func TestNegotiate(t *testing.T) {
	ms := time.Millisecond
	cases := []struct{ canSend, wants, want time.Duration }{
		{10000 * ms, 10000 * ms, 10000 * ms},
		{0, 10000 * ms, 0},
		{10000 * ms, 0, 0},
		{5000 * ms, 20000 * ms, 20000 * ms},
		{20000 * ms, 5000 * ms, 20000 * ms},
	}
	for _, c := range cases {
		if got := negotiate(c.canSend, c.wants); got != c.want {
			t.Errorf("negotiate(%v,%v)=%v want %v", c.canSend, c.wants, got, c.want)
		}
	}
}

func TestConnectedHeartBeats(t *testing.T) {
	s := start(t, Config{Heartbeat: 40 * time.Millisecond})
	c := dial(t, s)
	f := c.connect("0,30")
	if v := f.Header.Get(frame.Version); v != "1.2" {
		t.Fatalf("version %q", v)
	}
	if hb := f.Header.Get(frame.HeartBeat); hb != "40,40" {
		t.Fatalf("heart-beat %q", hb)
	}
	// The client asked for heart-beats every 30 ms; the server sends every max(40,30) ms.
	for i := range 3 {
		c.wait = 2 * time.Second
		got, err := c.rd.Read()
		if err != nil || got != nil {
			t.Fatalf("heart-beat %d: frame %v err %v", i, got, err)
		}
	}
	// A client that wants none gets none.
	c2 := dial(t, s)
	c2.connect("0,0")
	c2.wait = 300 * time.Millisecond
	_, err := c2.rd.Read()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a read timeout (no heart-beats), got %v", err)
	}
}

func TestSilentClientIsDropped(t *testing.T) {
	s := start(t, Config{Heartbeat: 30 * time.Millisecond})
	c := dial(t, s)
	c.connect("30,0") // promises heart-beats it will never send
	ctx := ctxT(t, 5*time.Second)
	if err := s.Wait(ctx, func() bool { return s.Stats().Connections == 0 }); err != nil {
		t.Fatal(err)
	}
	c.wait = 2 * time.Second
	if _, err := c.next(); err == nil {
		t.Fatal("connection still open")
	}
	// A client that keeps sending heart-beats stays.
	c2 := dial(t, s)
	c2.connect("30,0")
	for range 10 {
		if err := c2.ws.WriteMessage(websocket.TextMessage, []byte("\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the client's own heart-beat cadence
	}
	if n := s.Stats().Connections; n != 1 {
		t.Fatalf("heart-beating client dropped: %d connections", n)
	}
}

func TestSubscribeEmitMessage(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	if st := s.Stats(); st.Subscriptions != 1 || st.Subscribes != 1 || len(s.SubscribeTimes()) != 1 {
		t.Fatalf("stats %+v", st)
	}
	payload := []byte(`{"entity":"DOOR_STATE","entityUuid":"X","type":"UPDATE"}`)
	if n := s.Emit(payload); n != 1 {
		t.Fatalf("emit reached %d", n)
	}
	m := c.expect(frame.MESSAGE)
	h := m.Header
	if h.Get(frame.Destination) != "/topic/change/"+s.OrgUUID() || h.Get(frame.Subscription) != "sub-0" ||
		h.Get(frame.MessageId) == "" || h.Get(frame.ContentType) != "application/json" ||
		h.Get(frame.ContentLength) != strconv.Itoa(len(payload)) {
		t.Fatalf("headers %v", h)
	}
	if !bytes.Equal(m.Body, payload) {
		t.Fatalf("body %q", m.Body)
	}
	a := s.CreateAlert(Alert{Shape: ShapeNested})
	m = c.expect(frame.MESSAGE)
	var nested struct {
		EntityUUID string `json:"entityUuid"`
		Update     struct {
			UUID        string `json:"uuid"`
			TimestampMs int64  `json:"timestampMs"`
		} `json:"update"`
	}
	if err := json.Unmarshal(m.Body, &nested); err != nil || nested.EntityUUID != "" ||
		nested.Update.UUID != a.UUID || nested.Update.TimestampMs != a.TimestampMs {
		t.Fatalf("nested %s (%v)", m.Body, err)
	}
	if a.Live != 1 || s.Emitted() != 2 {
		t.Fatalf("live %d emitted %d", a.Live, s.Emitted())
	}
}

func TestSubscribeOtherOrgIsRefused(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	c.connect("0,0")
	c.send(frame.New(frame.SUBSCRIBE, frame.Id, "1", frame.Destination, "/topic/change/OTHER"))
	e := c.expect(frame.ERROR)
	if e.Header.Get(frame.Message) == "" {
		t.Fatalf("ERROR without message: %v", e.Header)
	}
	if _, err := c.next(); err == nil {
		t.Fatal("connection not closed after ERROR")
	}
}

func TestFrameBeforeConnectIsAnError(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	c.send(frame.New(frame.SUBSCRIBE, frame.Id, "1", frame.Destination, "/topic/change/"+s.OrgUUID()))
	c.expect(frame.ERROR)
}

func TestDisconnectWithReceipt(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	c.send(frame.New(frame.DISCONNECT, frame.Receipt, "bye"))
	if r := c.expect(frame.RECEIPT); r.Header.Get(frame.ReceiptId) != "bye" {
		t.Fatalf("receipt %v", r.Header)
	}
	if err := s.Wait(ctxT(t, 5*time.Second), func() bool { return s.Stats().Connections == 0 }); err != nil {
		t.Fatal(err)
	}
	if n := s.Emit([]byte(`{}`)); n != 0 {
		t.Fatalf("emit after disconnect reached %d", n)
	}
	if st := s.Stats(); st.Suppressed != 1 {
		t.Fatalf("stats %+v", st)
	}
}
