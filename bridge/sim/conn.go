package sim

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const writeTimeout = 10 * time.Second

// outItem is one encoded frame for the writer; closeAfter ends the connection after it.
type outItem struct {
	data       []byte
	closeAfter bool
}

// conn is one WebSocket connection speaking STOMP.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	id     uint64
	out    chan outItem
	done   chan struct{}
	once   sync.Once
	silent atomic.Bool

	mu        sync.Mutex
	connected bool
	subs      map[string]*Subscription // by subscription id
	remote    string
	userAgent string
	sendEvery time.Duration // negotiated server → client heart-beat
	recvEvery time.Duration // negotiated client → server heart-beat
	hbReset   chan struct{} // tells the writer the heart-beat interval changed
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if status, ok := s.admitHandshake(r); !ok {
		body := http.StatusText(status)
		if status == http.StatusUnauthorized {
			body = "Unauthorized: missing or invalid x-auth-apikey / x-auth-scheme"
		}
		http.Error(w, body, status)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn("websocket upgrade failed", "err", err)
		return
	}
	ws.SetReadLimit(int64(s.cfg.MaxMessageSize))
	c := &conn{
		s: s, ws: ws, out: make(chan outItem, s.cfg.QueueSize), done: make(chan struct{}),
		subs: make(map[string]*Subscription), hbReset: make(chan struct{}, 1),
		remote: r.RemoteAddr, userAgent: r.UserAgent(),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.st.connsTotal++
	c.id = uint64(s.st.connsTotal)
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()
	ws.SetPingHandler(c.onPing)
	s.log.Debug("websocket connected", "conn", c.id, "remote", r.RemoteAddr)
	go c.writeLoop()
	go c.readLoop()
}

// admitHandshake applies refused-handshake faults, then the credentials check.
func (s *Server) admitHandshake(r *http.Request) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.handshakes++
	s.st.handshakeAt = appendBounded(s.st.handshakeAt, time.Now())
	s.notifyLocked()
	if s.faults.refuseStatus != 0 && takeFault(&s.faults.refuseN) {
		s.st.refused++
		return s.faults.refuseStatus, false
	}
	if r.Header.Get("x-auth-apikey") != s.cfg.APIKey || !hasScheme(r) {
		s.st.unauthorized++
		return http.StatusUnauthorized, false
	}
	return 0, true
}

func (c *conn) onPing(data string) error {
	if c.silent.Load() && !c.s.silentPongs.Load() {
		return nil
	}
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
	var ne net.Error
	if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

// abort closes the TCP connection at once: no close frame.
func (c *conn) abort() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.UnderlyingConn().Close()
	})
}

// closeWithFrame sends a WebSocket close frame, then closes the TCP connection.
func (c *conn) closeWithFrame() {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "going away")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.abort()
}

// enqueue queues an encoded frame; a full queue drops the connection as a slow consumer.
func (c *conn) enqueue(it outItem) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- it:
		return true
	default:
		c.s.log.Warn("slow consumer: outbound queue full, dropping connection", "conn", c.id)
		c.s.mu.Lock()
		c.s.st.dropped++
		c.s.mu.Unlock()
		c.abort()
		return false
	}
}

func (c *conn) subCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

func (c *conn) heartbeats() (send, recv time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendEvery, c.recvEvery
}

// writeLoop is the connection's only data writer: frames, heart-beats, framing modes.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer c.abort()
	hb := time.NewTimer(time.Hour)
	defer hb.Stop()
	for {
		send, _ := c.heartbeats()
		resetTimer(hb, send)
		select {
		case <-c.done:
			return
		case <-c.hbReset:
		case <-hb.C:
			if !c.write([]outItem{{data: []byte{'\n'}}}) {
				return
			}
		case it := <-c.out:
			if !c.write(c.batch(it)) {
				return
			}
		}
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	if d <= 0 {
		d = time.Hour
	}
	t.Reset(d)
}

// packLinger is how long a packed batch waits for more frames after its first.
const packLinger = 2 * time.Millisecond

// batch adds to first what else is queued within packLinger, when frames are packed.
func (c *conn) batch(first outItem) []outItem {
	items := []outItem{first}
	if c.s.Framing()&FramePacked == 0 || first.closeAfter {
		return items
	}
	linger := time.NewTimer(packLinger)
	defer linger.Stop()
	for len(items) < 16 {
		select {
		case it := <-c.out:
			items = append(items, it)
			if it.closeAfter {
				return items
			}
		case <-linger.C:
			return items
		case <-c.done:
			return items
		}
	}
	return items
}

// write sends items laid out in the current framing; false ends the connection.
func (c *conn) write(items []outItem) bool {
	if c.silent.Load() {
		return true // half-open: nothing leaves
	}
	frames := make([][]byte, len(items))
	closeAfter := false
	for i, it := range items {
		frames[i] = it.data
		closeAfter = closeAfter || it.closeAfter
	}
	for _, m := range c.s.layout(c.s.Framing(), frames) {
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
			c.s.log.Debug("websocket write failed", "conn", c.id, "err", err)
			return false
		}
	}
	for _, f := range frames {
		if isMessage(f) {
			c.s.sent.Add(1)
		}
	}
	if closeAfter {
		c.closeWithFrame()
		return false
	}
	return true
}

func isMessage(f []byte) bool { return len(f) > 8 && string(f[:8]) == "MESSAGE\n" }
