package sim

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "test-key"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a simulator on 127.0.0.1 for the test.
func start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// client is a plain gorilla WebSocket with go-stomp's frame reader on top.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	rd   *frame.Reader
	msgs atomic.Int64 // WebSocket messages read
	wait time.Duration
}

func dialRaw(s *Server, key, scheme string) (*websocket.Conn, *http.Response, error) {
	u := s.WSURL()
	if scheme != "" {
		u += "?x-auth-scheme=" + url.QueryEscape(scheme)
	}
	h := http.Header{}
	if key != "" {
		h.Set("x-auth-apikey", key)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	return d.Dial(u, h)
}

func dial(t testing.TB, s *Server) *client {
	t.Helper()
	ws, resp, err := dialRaw(s, testKey, "api-token")
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &client{t: t, ws: ws, wait: 5 * time.Second}
	c.rd = frame.NewReader(&wsStream{ws: ws, window: func() time.Duration { return c.wait }, onRead: func() {}})
	t.Cleanup(func() { _ = ws.Close() })
	return c
}

// countingStream counts WebSocket messages.
type countingStream struct {
	c   *client
	cur io.Reader
}

func (r *countingStream) Read(p []byte) (int, error) {
	for {
		_ = r.c.ws.SetReadDeadline(time.Now().Add(r.c.wait))
		if r.cur == nil {
			_, rd, err := r.c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			r.c.msgs.Add(1)
			r.cur = rd
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *client) countMessages() {
	c.rd = frame.NewReader(&countingStream{c: c})
}

func (c *client) send(f *frame.Frame) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, encodeFrame(f)); err != nil {
		c.t.Fatalf("send %s: %v", f.Command, err)
	}
}

// next returns the next frame, skipping heart-beats.
func (c *client) next() (*frame.Frame, error) {
	for {
		f, err := c.rd.Read()
		if err != nil || f != nil {
			return f, err
		}
	}
}

func (c *client) expect(cmd string) *frame.Frame {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("want %s: %v", cmd, err)
	}
	if f.Command != cmd {
		c.t.Fatalf("want %s, got %s %v %q", cmd, f.Command, f.Header, f.Body)
	}
	return f
}

func (c *client) connect(hb string) *frame.Frame {
	c.t.Helper()
	c.send(frame.New(frame.CONNECT, frame.AcceptVersion, "1.2", frame.HeartBeat, hb, frame.Host, "sim"))
	return c.expect(frame.CONNECTED)
}

func (c *client) subscribe(s *Server) {
	c.t.Helper()
	c.send(frame.New(frame.SUBSCRIBE, frame.Id, "sub-0", frame.Destination, "/topic/change/"+s.OrgUUID(), frame.Receipt, "r-sub"))
	if r := c.expect(frame.RECEIPT); r.Header.Get(frame.ReceiptId) != "r-sub" {
		c.t.Fatalf("receipt-id %q", r.Header.Get(frame.ReceiptId))
	}
}

// subscribed dials, connects without heart-beats and subscribes.
func subscribed(t testing.TB, s *Server) *client {
	t.Helper()
	c := dial(t, s)
	c.connect("0,0")
	c.subscribe(s)
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
