package sim

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

func TestLongestOverlapSweep(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	subs := []Subscription{
		{Start: at(0), End: at(100)},
		{Start: at(100), End: at(300)}, // hand-over at the same instant: no overlap
		{Start: at(250), End: at(400)}, // overlaps the second by 50 ms
		{Start: at(500)},               // active until now
		{Start: at(520), End: at(530)}, // 10 ms
	}
	if got := longestOverlap(subs, at(1000)); got != 50*time.Millisecond {
		t.Fatalf("got %v", got)
	}
	if got := longestOverlap(subs[:2], at(1000)); got != 0 {
		t.Fatalf("hand-over counted as overlap: %v", got)
	}
}

func TestSubscriptionSpans(t *testing.T) {
	s := start(t, Config{})
	c1 := subscribed(t, s)
	c2 := subscribed(t, s)
	c1.send(frame.New(frame.UNSUBSCRIBE, frame.Id, "sub-0", frame.Receipt, "u"))
	c1.expect(frame.RECEIPT)
	_ = c2.ws.Close()
	if err := s.Wait(ctxT(t, 5*time.Second), func() bool { return s.Stats().Subscriptions == 0 }); err != nil {
		t.Fatal(err)
	}
	subs := s.Subscriptions()
	if len(subs) != 2 || subs[0].End.IsZero() || subs[1].End.IsZero() || subs[0].Conn == subs[1].Conn ||
		subs[0].UserAgent == "" || subs[0].Remote == "" {
		t.Fatalf("%+v", subs)
	}
	if ov := s.LongestOverlap(); ov <= 0 {
		t.Fatalf("two live subscriptions, overlap %v", ov)
	}
	if len(s.SubscribeTimes()) != 2 {
		t.Fatal("subscribe times")
	}
}

func TestResetConnections(t *testing.T) {
	s := start(t, Config{})
	c := subscribed(t, s)
	if n := s.ResetConnections(); n != 1 {
		t.Fatalf("reset %d", n)
	}
	_, err := c.next()
	if err == nil {
		t.Fatal("still open")
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("want a reset, got %v", err)
		}
	}
}

func TestSilentPongs(t *testing.T) {
	s := start(t, Config{})
	// answered reports whether a silent connection answers a ping. A timed-out gorilla
	// connection cannot be read again, so each check uses its own connection.
	answered := func() bool {
		c := subscribed(t, s)
		pongs := make(chan struct{}, 4)
		c.ws.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
		s.GoSilent(true)
		if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		drain(t, c, 200*time.Millisecond) // reads run the pong handler; no frame may arrive
		select {
		case <-pongs:
			return true
		default:
			return false
		}
	}
	if answered() {
		t.Fatal("silent connection answered a ping")
	}
	s.SetSilentPongs(true)
	if !answered() {
		t.Fatal("no pong with SetSilentPongs")
	}
}
