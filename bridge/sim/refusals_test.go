package sim

import (
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
)

// RefuseConnect and RefuseSubscribe answer with an ERROR frame carrying the message and
// the body, then close; the counted fault is used up, and CONNECT and handshake times
// are recorded.
func TestRefuseConnectAndSubscribe(t *testing.T) {
	s := start(t, Config{})
	s.RefuseConnect(1, "Bad CONNECT", "Virtual host '127.0.0.1' access denied")
	c := dial(t, s)
	c.send(frame.New(frame.CONNECT, frame.AcceptVersion, "1.2", frame.HeartBeat, "0,0", frame.Host, "sim"))
	e := c.expect(frame.ERROR)
	if e.Header.Get(frame.Message) != "Bad CONNECT" || string(e.Body) != "Virtual host '127.0.0.1' access denied" {
		t.Fatalf("ERROR %v %q", e.Header, e.Body)
	}
	if _, err := c.next(); err == nil {
		t.Fatal("connection not closed after ERROR")
	}
	s.RefuseSubscribe(1, "Invalid destination", "'/topic/x' is not a valid topic destination")
	c = dial(t, s)
	c.connect("0,0")
	c.send(frame.New(frame.SUBSCRIBE, frame.Id, "sub-0", frame.Destination, "/topic/change/"+s.OrgUUID(), frame.Receipt, "r"))
	if e := c.expect(frame.ERROR); e.Header.Get(frame.Message) != "Invalid destination" || len(e.Body) == 0 {
		t.Fatalf("ERROR %v %q", e.Header, e.Body)
	}
	subscribed(t, s) // both faults used up
	if n := len(s.ConnectTimes()); n != 3 {
		t.Fatalf("%d CONNECTs recorded, want 3", n)
	}
	if n := len(s.HandshakeTimes()); n != 3 {
		t.Fatalf("%d handshakes recorded, want 3", n)
	}
}

// With IgnoreClientSilence a client that promised heart-beats and sends none is kept.
func TestIgnoreClientSilence(t *testing.T) {
	s := start(t, Config{Heartbeat: 30 * time.Millisecond})
	s.IgnoreClientSilence(true)
	c := dial(t, s)
	c.connect("30,30")
	c.wait = 500 * time.Millisecond // many times the 60 ms the server would allow
	for range 3 {
		if _, err := c.rd.Read(); err != nil { // server heart-beats keep coming
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // silence, 5 × the window
	if n := s.Stats().Connections; n != 1 {
		t.Fatalf("silent client dropped although tolerated: %d connections", n)
	}
}

// With IgnoreDisconnect a DISCONNECT gets no RECEIPT and the connection stays open.
func TestIgnoreDisconnect(t *testing.T) {
	s := start(t, Config{})
	s.IgnoreDisconnect(true)
	c := subscribed(t, s)
	c.send(frame.New(frame.DISCONNECT, frame.Receipt, "bye"))
	c.wait = 300 * time.Millisecond
	if f, err := c.next(); err == nil {
		t.Fatalf("DISCONNECT answered with %s", f.Command)
	}
	if n := s.Stats().Connections; n != 1 {
		t.Fatalf("%d connections; want the ignored one still open", n)
	}
}
