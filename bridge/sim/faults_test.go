package sim

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

func TestDropConnections(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	if n := s.DropConnections(); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	_, err := c.next()
	var ce *websocket.CloseError
	// gorilla reports a TCP end without close frame as a synthetic 1006.
	if err == nil || errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		t.Fatalf("want an abrupt end without close frame, got %v", err)
	}
	if err := s.Wait(ctxT(t, 5*time.Second), func() bool { return s.Stats().Subscriptions == 0 }); err != nil {
		t.Fatal(err)
	}
	// Alerts created while nobody listens are only in the history.
	a := s.CreateAlert(Alert{})
	if a.Live != 0 {
		t.Fatalf("live %d", a.Live)
	}
	if _, ok := s.Alert(a.UUID); !ok {
		t.Fatal("not in history")
	}
}

func TestCloseFrame(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	s.CloseFrame()
	_, err := c.next()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("want close 1001, got %v", err)
	}
}

func TestSendErrorAfterQueuedMessages(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	s.Emit([]byte(`{"n":1}`))
	s.SendError("maintenance")
	if m := c.expect(frame.MESSAGE); string(m.Body) != `{"n":1}` {
		t.Fatalf("body %q", m.Body)
	}
	if e := c.expect(frame.ERROR); e.Header.Get(frame.Message) != "maintenance" {
		t.Fatalf("ERROR %v", e.Header)
	}
	if _, err := c.next(); err == nil {
		t.Fatal("still open after ERROR")
	}
}

func TestGoSilentIsHalfOpen(t *testing.T) {
	s := start(t, Config{Heartbeat: 30 * time.Millisecond})
	c := dial(t, s)
	c.connect("30,30")
	c.subscribe(s)
	c.wait = 2 * time.Second
	if f, err := c.rd.Read(); err != nil || f != nil { // a heart-beat arrives while healthy
		t.Fatalf("heart-beat: %v %v", f, err)
	}
	if n := s.GoSilent(true); n != 1 {
		t.Fatalf("silenced %d", n)
	}
	if n := s.Emit([]byte(`{}`)); n != 0 {
		t.Fatalf("emit reached %d silent subscribers", n)
	}
	// Keep heart-beating so the server does not drop us; nothing must arrive.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				_ = c.ws.WriteMessage(websocket.TextMessage, []byte("\n"))
			}
		}
	}()
	defer func() { close(stop); <-done }()
	drain(t, c, 400*time.Millisecond)
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
		t.Fatalf("TCP should be up: %v", err)
	}
	if st := s.Stats(); st.Connections != 1 {
		t.Fatalf("connection gone: %+v", st)
	}
	// A new connection is healthy.
	c2 := subscribed(t, s)
	s.Emit([]byte(`{"n":2}`))
	c2.expect(frame.MESSAGE)
}

// drain expects the read to time out after d: nothing at all arrives.
func drain(t *testing.T, c *client, d time.Duration) {
	t.Helper()
	c.wait = d
	f, err := c.rd.Read()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want silence, got frame %v err %v", f, err)
	}
}

func TestRefuseHandshakes(t *testing.T) {
	s := start(t, Config{})
	s.RefuseHandshakes(503, 2)
	for i := range 3 {
		ws, resp, err := dialRaw(s, testKey, "api-token")
		want := 503
		if i == 2 {
			want = 101
		}
		if resp == nil || resp.StatusCode != want {
			t.Fatalf("attempt %d: want %d, got %v %v", i, want, resp, err)
		}
		if ws != nil {
			_ = ws.Close()
		}
	}
	s.RefuseHandshakes(401, -1)
	for range 3 {
		_, resp, _ := dialRaw(s, testKey, "api-token")
		if resp == nil || resp.StatusCode != 401 {
			t.Fatalf("until cleared: %v", resp)
		}
	}
	s.ClearFaults()
	ws, _, err := dialRaw(s, testKey, "api-token")
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.Close()
	if st := s.Stats(); st.Handshakes != 7 || st.Refused != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFramingModes(t *testing.T) {
	modes := []Framing{0, FramePacked, FrameSplit, FrameLeadingEOL, FramePacked | FrameSplit | FrameLeadingEOL}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			s := start(t, Config{Framing: mode})
			c := subscribed(t, s)
			c.countMessages()
			const n = 50
			for i := range n {
				s.Emit(fmt.Appendf(nil, `{"i":%d}`, i))
			}
			for i := range n {
				m := c.expect(frame.MESSAGE)
				if want := fmt.Sprintf(`{"i":%d}`, i); string(m.Body) != want {
					t.Fatalf("frame %d: %q want %q", i, m.Body, want)
				}
			}
			msgs := c.msgs.Load()
			switch {
			case mode == 0 && msgs != n, mode == FrameLeadingEOL && msgs != n:
				t.Fatalf("%d messages for %d frames", msgs, n)
			case mode == FramePacked && msgs >= n:
				t.Fatalf("packed: %d messages for %d frames", msgs, n)
			case mode == FrameSplit && msgs <= n:
				t.Fatalf("split: %d messages for %d frames", msgs, n)
			}
		})
	}
}

func TestParseFraming(t *testing.T) {
	f, err := ParseFraming("packed, split,eol")
	if err != nil || f != FramePacked|FrameSplit|FrameLeadingEOL || f.String() != "packed,split,eol" {
		t.Fatalf("%v %v", f, err)
	}
	if f, err := ParseFraming(""); err != nil || f != 0 || f.String() != "single" {
		t.Fatalf("%v %v", f, err)
	}
	if _, err := ParseFraming("bogus"); err == nil {
		t.Fatal("bogus accepted")
	}
}
