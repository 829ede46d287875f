package rhombus

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

// stompPeer is a STOMP 1.2 server on a real WebSocket (127.0.0.1) that a test drives by
// hand: it answers CONNECT and receipts, reports each SUBSCRIBE, and lets the test write
// any bytes to a subscribed connection.
type stompPeer struct {
	url  string
	subs chan *peerConn // each connection as it subscribes

	mu    sync.Mutex
	conns []*peerConn
}

// peerConn is one connection to the peer.
type peerConn struct {
	ws    *websocket.Conn
	subID string        // set before the connection is sent on subs
	done  chan struct{} // closed once the connection's reader has ended
	wmu   sync.Mutex
	msgs  int
}

func startStompPeer(t *testing.T) *stompPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stompPeer{url: "ws://" + ln.Addr().String() + "/websocket", subs: make(chan *peerConn, 64)}
	srv := &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.ws.Close()
			<-c.done
		}
	})
	return p
}

func (p *stompPeer) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &peerConn{ws: ws, done: make(chan struct{})}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	go p.read(c)
}

// read answers the client's frames until the connection ends.
func (p *stompPeer) read(c *peerConn) {
	defer close(c.done)
	defer c.ws.Close()
	rd := frame.NewReader(&peerStream{ws: c.ws})
	for {
		f, err := rd.Read()
		if err != nil {
			return
		}
		if f == nil {
			continue
		}
		switch f.Command {
		case frame.CONNECT, frame.STOMP: // no heart-beats: the client keeps the link alive with pings
			_ = c.write(encode(frame.New(frame.CONNECTED, frame.Version, "1.2", frame.HeartBeat, "0,0")))
		case frame.SUBSCRIBE:
			c.subID = f.Header.Get(frame.Id)
			p.subs <- c
		}
		if id, ok := f.Header.Contains(frame.Receipt); ok {
			_ = c.write(encode(frame.New(frame.RECEIPT, frame.ReceiptId, id)))
		}
	}
}

// waitSub waits for the next connection to subscribe.
func (p *stompPeer) waitSub(t *testing.T, d time.Duration) *peerConn {
	t.Helper()
	select {
	case c := <-p.subs:
		return c
	case <-time.After(d):
		t.Fatalf("no SUBSCRIBE within %s", d)
		return nil
	}
}

// write sends b as one text message.
func (c *peerConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// message sends body as a MESSAGE frame of the subscription.
func (c *peerConn) message(body string) error {
	c.msgs++
	f := frame.New(frame.MESSAGE, frame.Subscription, c.subID, frame.Destination, "/topic/change/ORG",
		frame.MessageId, fmt.Sprint(c.msgs), frame.ContentLength, fmt.Sprint(len(body)))
	f.Body = []byte(body)
	return c.write(encode(f))
}

// stream writes src in messages of up to 64 KiB until src ends, limit bytes are written
// or a write fails (the client closed the connection); it returns the bytes written.
func (c *peerConn) stream(ctx context.Context, src io.Reader, limit int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for n < limit && ctx.Err() == nil {
		k, rerr := io.ReadFull(src, buf[:min(int64(len(buf)), limit-n)])
		if k > 0 {
			if err := c.write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr != nil {
			return n, nil
		}
	}
	return n, ctx.Err()
}

// peerStream presents the client's WebSocket messages as one byte stream.
type peerStream struct {
	ws  *websocket.Conn
	cur io.Reader
}

func (s *peerStream) Read(p []byte) (int, error) {
	for {
		if s.cur == nil {
			_, r, err := s.ws.NextReader()
			if err != nil {
				return 0, err
			}
			s.cur = r
		}
		n, err := s.cur.Read(p)
		if err == io.EOF {
			s.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}
