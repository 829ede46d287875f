package sim

import (
	"io"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/gorilla/websocket"
)

// wsRW adapts a WebSocket to the io.ReadWriteCloser go-stomp's client wants: each Write is
// one text message, reads are the byte stream of all messages.
type wsRW struct {
	ws  *websocket.Conn
	cur io.Reader
}

func (w *wsRW) Read(p []byte) (int, error) {
	for {
		if w.cur == nil {
			_, r, err := w.ws.NextReader()
			if err != nil {
				return 0, err
			}
			w.cur = r
		}
		n, err := w.cur.Read(p)
		if err == io.EOF {
			w.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (w *wsRW) Write(p []byte) (int, error) {
	if err := w.ws.WriteMessage(websocket.TextMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *wsRW) Close() error { return w.ws.Close() }

// TestGoStompClientInterop runs go-stomp's own client against the simulator in every
// framing mode, with heart-beats both ways.
func TestGoStompClientInterop(t *testing.T) {
	for _, mode := range []Framing{0, FramePacked | FrameSplit | FrameLeadingEOL} {
		t.Run(mode.String(), func(t *testing.T) {
			s := start(t, Config{Heartbeat: 100 * time.Millisecond, Framing: mode})
			ws, resp, err := dialRaw(s, testKey, "api-token")
			if err != nil {
				t.Fatalf("%v %v", resp, err)
			}
			conn, err := stomp.Connect(&wsRW{ws: ws}, stomp.ConnOpt.HeartBeat(100*time.Millisecond, 100*time.Millisecond),
				stomp.ConnOpt.Host("sim"))
			if err != nil {
				t.Fatal(err)
			}
			sub, err := conn.Subscribe("/topic/change/"+s.OrgUUID(), stomp.AckAuto)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WaitSubscriptions(ctxT(t, 5*time.Second), 1); err != nil {
				t.Fatal(err)
			}
			// go-stomp's client stops heart-beating while its subscription channel is
			// full, so read promptly (the bridge must too).
			recv := func(n int) {
				for range n {
					select {
					case m := <-sub.C:
						if m.Err != nil {
							t.Fatal(m.Err)
						}
					case <-time.After(5 * time.Second):
						t.Fatal("message missing")
					}
				}
			}
			for range 30 {
				s.CreateAlert(Alert{})
			}
			recv(30)
			time.Sleep(400 * time.Millisecond) // idle for several heart-beat periods: the link must stay up
			if a := s.CreateAlert(Alert{}); a.Live != 1 {
				t.Fatalf("connection lost while idle: %+v", s.Stats())
			}
			recv(1)
			if err := conn.Disconnect(); err != nil {
				t.Fatal(err)
			}
			_ = ws.Close()
		})
	}
}
