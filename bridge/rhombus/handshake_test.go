package rhombus

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// captured is what a minimal STOMP server saw from the client. The simulator checks
// credentials but does not expose the frames, so this test reads them itself.
type captured struct {
	mu        sync.Mutex
	req       *http.Request
	connect   *frame.Frame
	subscribe *frame.Frame
}

func captureServer(t *testing.T, c *captured) *httptest.Server {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conn := NewWSConn(ws, 0, time.Second)
		defer conn.Abort()
		rd, wr := frame.NewReader(conn), frame.NewWriter(conn)
		f, err := rd.Read()
		if err != nil {
			return
		}
		_ = wr.Write(frame.New(frame.CONNECTED, frame.Version, "1.2", frame.HeartBeat, "0,0"))
		sub, _ := rd.Read()
		c.mu.Lock()
		c.req, c.connect, c.subscribe = r, f, sub
		c.mu.Unlock()
		_, _ = rd.Read() // until the client goes
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The handshake carries the key, the scheme (header and query) and the partner org; the
// CONNECT frame names the WS URL's host (not "default", not the peer address), accepts
// STOMP 1.2 only and offers the configured heart-beat both ways; SUBSCRIBE is to the org's
// change topic.
func TestHandshakeAndConnectFrames(t *testing.T) {
	var c captured
	srv := captureServer(t, &c)
	wsURL := strings.Replace(srv.URL, "http://127.0.0.1", "ws://localhost", 1) + "/websocket"
	sub, err := NewSubscriber(FeedConfig{WSURL: wsURL, APIKey: "k1", AuthScheme: "partner-api-token",
		PartnerOrg: "client-org", Org: "ORG1", Heartbeat: 1500 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, rec) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		ok := c.subscribe != nil
		c.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no SUBSCRIBE")
		}
	}
	cancel()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.req.Header
	if h.Get("x-auth-apikey") != "k1" || h.Get("x-auth-scheme") != "partner-api-token" ||
		c.req.URL.Query().Get("x-auth-scheme") != "partner-api-token" || h.Get("x-auth-org") != "client-org" {
		t.Fatalf("handshake headers %v query %q", h, c.req.URL.RawQuery)
	}
	for k, want := range map[string]string{"host": "localhost", "accept-version": "1.2", "heart-beat": "1500,1500"} {
		if got := c.connect.Header.Get(k); got != want {
			t.Errorf("CONNECT %s: %q, want %q", k, got, want)
		}
	}
	if c.subscribe.Command != frame.SUBSCRIBE || c.subscribe.Header.Get("destination") != "/topic/change/ORG1" ||
		c.subscribe.Header.Get("ack") != "auto" {
		t.Errorf("SUBSCRIBE %v %v", c.subscribe.Command, c.subscribe.Header)
	}
}

// go-stomp would apply the server's heart-beat offer although we offered 0 (no
// heart-beats wanted): the connection must not be declared dead for silence the STOMP 1.2
// negotiation allows. Liveness then comes from WebSocket pongs.
func TestZeroHeartbeatNotTimedOut(t *testing.T) {
	s := startSim(t, sim.Config{Heartbeat: 200 * time.Millisecond})
	_, rec, _, _ := runFeed(t, s, func(c *FeedConfig) { c.Heartbeat = 0; c.PingInterval = 100 * time.Millisecond })
	rec.waitFor(t, 10*time.Second, "the subscription", func(r *recorder) bool { return len(r.subs) == 1 })
	rec.mu.Lock()
	info := rec.subs[0]
	rec.mu.Unlock()
	if info.Heartbeat != 0 || info.Liveness != 2*100*time.Millisecond+500*time.Millisecond {
		t.Fatalf("negotiated %+v; want no server heart-beat, ping-based liveness", info)
	}
	time.Sleep(1500 * time.Millisecond) // an idle window > 2 × the server's offer + grace
	if _, _, downs := rec.counts(); downs != 0 {
		rec.mu.Lock()
		t.Fatalf("disconnected %d times while idle but answering pings: %v", downs, rec.causes)
	}
	s.GoSilent(true) // no pongs either: now it is dead
	rec.waitFor(t, 5*time.Second, "heart-beat timeout", func(r *recorder) bool { return len(r.causes) > 0 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if CauseOf(rec.causes[0]) != CauseHeartbeat {
		t.Fatalf("cause %v", rec.causes[0])
	}
}

// slowRecorder blocks in its first Message, as a misbehaving consumer would.
type slowRecorder struct {
	*recorder
	once  sync.Once
	block time.Duration
}

func (r *slowRecorder) Message(body []byte, at time.Time) {
	r.once.Do(func() { time.Sleep(r.block) })
	r.recorder.Message(body, at)
}

// A handler that blocks for several heart-beat intervals does not stall the client's
// heart-beats (WSConn sends them, not go-stomp's loop): the server, which drops clients
// silent for 2 × their interval, keeps the connection.
func TestSlowHandlerKeepsHeartbeats(t *testing.T) {
	const hb = 200 * time.Millisecond
	s := startSim(t, sim.Config{Heartbeat: hb})
	sub, err := NewSubscriber(FeedConfig{WSURL: s.WSURL(), APIKey: testKey, Org: s.OrgUUID(), Heartbeat: hb,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &slowRecorder{recorder: newRecorder(), block: 8 * hb}
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, rec) }()
	defer func() { cancel(); <-done }()
	waitSimSubs(t, s, 1)
	const n = 60 // more than go-stomp buffers, so its own loop blocks behind the handler
	for i := 0; i < n; i++ {
		s.Emit([]byte(`{"entity":"X"}`))
	}
	rec.waitFor(t, 10*time.Second, "all messages", func(r *recorder) bool { return len(r.bodies) == n })
	if _, _, downs := rec.counts(); downs != 0 || s.Stats().ConnectionsTotal != 1 {
		t.Fatalf("%d disconnects, %d connections: heart-beats stalled behind the handler", downs, s.Stats().ConnectionsTotal)
	}
}
