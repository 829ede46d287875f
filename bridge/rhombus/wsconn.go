package rhombus

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultReadLimit is the largest STOMP frame WSConn accepts by default.
const DefaultReadLimit = 4 << 20

// messageLimitFactor × the frame limit bounds one WebSocket message.
const messageLimitFactor = 4

// WSConn is a net.Conn over a WebSocket: Read yields the payloads of incoming messages
// as one byte stream (a message may hold several STOMP frames, part of one, or a bare
// heart-beat EOL), and each Write is sent as one text message. Writes are serialised;
// Read must be called from one goroutine at a time (as any stream reader).
//
// Liveness: after SetLiveness(window, …) every Read arms a read deadline window ahead,
// so the connection fails with CauseHeartbeat once nothing has arrived for window.
type WSConn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration

	r         io.Reader // current message (reader goroutine only)
	armedAt   time.Time // when arm last set the deadline, and for which window (reader only)
	armedFor  int64
	guard     frameGuard
	window    atomic.Int64
	lastAlive atomic.Int64 // unix nanos of the last data (or counted pong)
	pongsLive atomic.Bool

	wmu       sync.Mutex
	lastWrite atomic.Int64

	errMu sync.Mutex
	err   *DisconnectError // why reading ended, first one wins

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewWSConn wraps ws. readLimit (≤ 0: DefaultReadLimit) bounds one STOMP frame, and four
// times it one WebSocket message (messages are streamed, never held whole, and one may
// carry several frames; the margin lets the frame guard see, and keep the head of, a
// frame that is too large). writeTimeout ≤ 0 means 10 s.
func NewWSConn(ws *websocket.Conn, readLimit int64, writeTimeout time.Duration) *WSConn {
	if readLimit <= 0 {
		readLimit = DefaultReadLimit
	}
	if writeTimeout <= 0 {
		writeTimeout = 10 * time.Second
	}
	c := &WSConn{ws: ws, writeTimeout: writeTimeout, done: make(chan struct{}), guard: newFrameGuard(readLimit)}
	ws.SetReadLimit(messageLimitFactor * readLimit)
	now := time.Now().UnixNano()
	c.lastAlive.Store(now)
	c.lastWrite.Store(now)
	ws.SetPongHandler(func(string) error {
		if c.pongsLive.Load() {
			c.touch()
			c.arm()
		}
		return nil
	})
	return c
}

// Read reads message payloads as a stream.
func (c *WSConn) Read(p []byte) (int, error) {
	for {
		c.arm()
		if c.r == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				return 0, c.fail(err)
			}
			c.r = r
			c.touch()
		}
		n, err := c.r.Read(p)
		if n > 0 {
			c.touch()
			if gerr := c.guard.check(p[:n]); gerr != nil {
				return 0, c.fail(gerr)
			}
		}
		if errors.Is(err, io.EOF) {
			c.r = nil
			err = nil
		}
		if err != nil {
			return n, c.fail(err)
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
}

// rearmAfter: arm leaves a deadline armed less than this long ago as it is, so it fires
// at most this much before the full window of silence, and a burst does not re-arm the
// socket's timer on every read.
const rearmAfter = time.Millisecond

// arm sets the read deadline one liveness window ahead (no-op while liveness is off). It
// runs on the reading goroutine only (Read and the pong handler, which reads call).
func (c *WSConn) arm() {
	w := c.window.Load()
	if w <= 0 {
		return
	}
	now := time.Now()
	if w == c.armedFor && now.Sub(c.armedAt) < rearmAfter {
		return
	}
	c.armedAt, c.armedFor = now, w
	_ = c.ws.SetReadDeadline(now.Add(time.Duration(w)))
}

func (c *WSConn) touch() { c.lastAlive.Store(time.Now().UnixNano()) }

// fail records why reading ended (the first cause wins) and returns it.
func (c *WSConn) fail(err error) error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		select {
		case <-c.done:
			c.err = &DisconnectError{Cause: CauseShutdown, Err: err}
		default:
			if errors.Is(err, websocket.ErrReadLimit) { // gorilla's limit: keep what we saw of the frame
				big := c.guard.tooLarge(err.Error())
				if c.guard.state == guardIdle {
					big.Head = nil // the message was refused before any of it was read
				}
				err = errors.Join(err, big)
			}
			c.err = classifyRead(err, c.window.Load() > 0)
		}
	}
	return c.err
}

// Err is why reading ended, nil while it has not.
func (c *WSConn) Err() *DisconnectError {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// LastAlive is when data (or, with pongs counted, a pong) last arrived.
func (c *WSConn) LastAlive() time.Time { return time.Unix(0, c.lastAlive.Load()) }

// SetLiveness starts enforcing liveness: the connection is dead once nothing arrived for
// window (0: off). With pongsCount, WebSocket pongs count as arrivals (use it only when
// the server sends no heart-beats). The deadline applies at once, also to a Read already
// blocked.
func (c *WSConn) SetLiveness(window time.Duration, pongsCount bool) {
	c.pongsLive.Store(pongsCount)
	c.window.Store(int64(window))
	if window > 0 {
		_ = c.ws.SetReadDeadline(time.Now().Add(window))
	}
}

// KeepAlive starts the client's heart-beats: a bare EOL whenever nothing was written for
// heartbeat/2 (heartbeat ≤ 0: none), and a WebSocket ping every ping (≤ 0: none). It stops
// at Close.
func (c *WSConn) KeepAlive(heartbeat, ping time.Duration) {
	if heartbeat <= 0 && ping <= 0 {
		return
	}
	c.wg.Add(1)
	go c.keepAlive(heartbeat/2, ping)
}

func (c *WSConn) keepAlive(beat, ping time.Duration) {
	defer c.wg.Done()
	tick := beat
	if tick <= 0 || ping > 0 && ping < tick {
		tick = ping
	}
	t := time.NewTicker(max(tick/2, 10*time.Millisecond))
	defer t.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			if beat > 0 && now.Sub(time.Unix(0, c.lastWrite.Load())) >= beat {
				if _, err := c.Write([]byte{'\n'}); err != nil {
					return
				}
			}
			if ping > 0 && now.Sub(lastPing) >= ping {
				lastPing = now
				if c.ws.WriteControl(websocket.PingMessage, nil, now.Add(c.writeTimeout)) != nil {
					return
				}
			}
		}
	}
}

// Write sends p as one text message.
func (c *WSConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, p); err != nil {
		return 0, err
	}
	c.lastWrite.Store(time.Now().UnixNano())
	return len(p), nil
}

// Close sends a best-effort close frame and closes the connection; it stops KeepAlive.
func (c *WSConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(250*time.Millisecond))
		err = c.ws.Close()
		c.wg.Wait()
	})
	return err
}

// Abort closes the connection at once, without a close frame.
func (c *WSConn) Abort() error {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
		c.wg.Wait()
	})
	return nil
}

// LocalAddr is the local network address.
func (c *WSConn) LocalAddr() net.Addr { return c.ws.LocalAddr() }

// RemoteAddr is the remote network address.
func (c *WSConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// SetDeadline sets both deadlines.
func (c *WSConn) SetDeadline(t time.Time) error {
	if err := c.ws.SetReadDeadline(t); err != nil {
		return err
	}
	return c.ws.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline (overridden by liveness once it is on).
func (c *WSConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline (each Write sets its own as well).
func (c *WSConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

var _ net.Conn = (*WSConn)(nil)
