package rhombus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

// holdServer is a STOMP server that answers CONNECT (no heart-beats), sends the
// SUBSCRIBE's RECEIPT only once release is closed, never answers DISCONNECT, and records
// the commands it receives. One connection.
type holdServer struct {
	url     string
	release chan struct{}
	gone    chan struct{} // closed when the connection ended

	mu       sync.Mutex
	commands []string
}

func startHoldServer(t *testing.T) *holdServer {
	h := &holdServer{release: make(chan struct{}), gone: make(chan struct{})}
	var once sync.Once
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conn := NewWSConn(ws, 0, time.Second)
		defer conn.Abort()
		defer once.Do(func() { close(h.gone) })
		rd := frame.NewReader(conn)
		write := func(f *frame.Frame) { _ = (&session{ws: conn}).write(f) }
		for {
			f, err := rd.Read()
			if err != nil {
				return
			}
			if f == nil {
				continue
			}
			h.mu.Lock()
			h.commands = append(h.commands, f.Command)
			h.mu.Unlock()
			switch f.Command {
			case frame.CONNECT:
				write(frame.New(frame.CONNECTED, frame.Version, "1.2", frame.HeartBeat, "0,0"))
			case frame.SUBSCRIBE:
				id := f.Header.Get(frame.Receipt)
				go func() {
					select {
					case <-h.release:
						write(frame.New(frame.RECEIPT, frame.ReceiptId, id))
					case <-h.gone:
					}
				}()
			}
		}
	}))
	t.Cleanup(srv.Close)
	h.url = strings.Replace(srv.URL, "http://", "ws://", 1) + "/websocket"
	return h
}

func (h *holdServer) saw(cmd string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.commands, cmd)
}

// runHold runs a Subscriber against h under a context the caller cancels.
func runHold(t *testing.T, h *holdServer) (*Subscriber, *recorder, context.CancelCauseFunc, <-chan struct{}) {
	sub, err := NewSubscriber(FeedConfig{WSURL: h.url, APIKey: testKey, Org: "ORG", Heartbeat: time.Second,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, rec) }()
	t.Cleanup(func() { cancel(nil); <-done })
	waitUntil(t, "the SUBSCRIBE", func() bool { return h.saw(frame.SUBSCRIBE) })
	return sub, rec, cancel, done
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The subscription counts as subscribed (state, metric, Handler.Subscribed) only once
// the server's RECEIPT for the SUBSCRIBE arrived, not when the frame was sent.
func TestSubscribedOnlyOnceAccepted(t *testing.T) {
	h := startHoldServer(t)
	sub, rec, _, _ := runHold(t, h)
	time.Sleep(300 * time.Millisecond) // the observation window: nothing may claim the subscription yet
	if subs, _, _ := rec.counts(); subs != 0 || sub.State().Subscribed || counterValue(t, sub.m.subscribed) != 0 {
		t.Fatalf("subscribed before the server accepted: %d Subscribed calls, state %+v", subs, sub.State())
	}
	close(h.release)
	rec.waitFor(t, 10*time.Second, "the subscription", func(r *recorder) bool { return len(r.subs) == 1 })
	if !sub.State().Subscribed || counterValue(t, sub.m.subscribed) != 1 {
		t.Fatalf("not subscribed after the RECEIPT: %+v", sub.State())
	}
}

// Losing leadership (the context cancelled with ErrAbandon as its cause) aborts the
// socket at once: no DISCONNECT, no wait for a receipt. A shutdown disconnects politely.
func TestCancelCauseAbortsPlainCancelDisconnects(t *testing.T) {
	for _, lost := range []bool{true, false} {
		name := map[bool]string{true: "leadership_lost", false: "shutdown"}[lost]
		t.Run(name, func(t *testing.T) {
			h := startHoldServer(t)
			close(h.release)
			_, rec, cancel, done := runHold(t, h)
			rec.waitFor(t, 10*time.Second, "the subscription", func(r *recorder) bool { return len(r.subs) == 1 })
			at := time.Now()
			if lost {
				cancel(fmt.Errorf("%w: lease lapsed", ErrAbandon))
			} else {
				cancel(errors.New("SIGTERM received")) // a shutdown's cause (signal.NotifyContext)
			}
			<-done
			took := time.Since(at)
			<-h.gone
			if sawDisconnect := h.saw(frame.DISCONNECT); sawDisconnect == lost {
				t.Fatalf("DISCONNECT sent: %v", sawDisconnect)
			}
			// The server never answers DISCONNECT: the polite path waits 2 s for it.
			if lost && took > time.Second {
				t.Fatalf("Run took %v to end after leadership was lost; want at once", took)
			}
			t.Logf("%s: Run ended %v after the cancel", name, took.Round(time.Millisecond))
		})
	}
}
