package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
)

const connectTimeout = 10 * time.Second

// readLoop reads STOMP frames until the connection ends, then unregisters it.
func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer c.finish()
	rd := frame.NewReader(&wsStream{ws: c.ws, window: c.readWindow, onRead: func() {}})
	for {
		f, err := rd.Read()
		if err != nil {
			c.s.log.Debug("websocket read ended", "conn", c.id, "err", err)
			return
		}
		if f == nil {
			continue // heart-beat
		}
		if !c.handle(f) {
			return
		}
	}
}

// readWindow is how long the client may stay silent: 2× its negotiated heart-beat once
// connected (none if it sends none), connectTimeout before CONNECT.
func (c *conn) readWindow() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.connected {
		return connectTimeout
	}
	if c.s.tolerant.Load() {
		return 0
	}
	return 2 * c.recvEvery
}

// finish unregisters the connection and makes sure it is closed.
func (c *conn) finish() {
	select {
	case <-c.done:
	default:
		// The client went away or stayed silent: close without waiting for the writer.
		c.abort()
	}
	// The spans end before they stop counting in Stats: whoever waits for no
	// subscriptions then finds every span ended.
	c.mu.Lock()
	spans := make([]*Subscription, 0, len(c.subs))
	for _, sp := range c.subs {
		spans = append(spans, sp)
	}
	c.mu.Unlock()
	c.s.endSpans(spans...)
	c.mu.Lock()
	c.subs = map[string]*Subscription{}
	c.mu.Unlock()
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.notifyLocked()
	c.s.mu.Unlock()
}

// handle processes one client frame; false ends the connection.
func (c *conn) handle(f *frame.Frame) bool {
	c.mu.Lock()
	connected := c.connected
	c.mu.Unlock()
	if !connected && f.Command != frame.CONNECT && f.Command != frame.STOMP {
		c.sendError("expected CONNECT", "")
		return true // the writer closes after the ERROR frame
	}
	switch f.Command {
	case frame.CONNECT, frame.STOMP:
		return c.onConnect(f)
	case frame.SUBSCRIBE:
		return c.onSubscribe(f)
	case frame.UNSUBSCRIBE:
		c.mu.Lock()
		sp := c.subs[f.Header.Get(frame.Id)]
		c.mu.Unlock()
		if sp != nil {
			c.s.endSpans(sp) // before it stops counting in Stats, as in finish
		}
		c.mu.Lock()
		delete(c.subs, f.Header.Get(frame.Id))
		c.mu.Unlock()
	case frame.DISCONNECT:
		if !c.s.deaf.Load() {
			c.receipt(f, true)
		}
		return true
	}
	c.receipt(f, false)
	return true
}

func (c *conn) receipt(f *frame.Frame, closeAfter bool) {
	id, ok := f.Header.Contains(frame.Receipt)
	if !ok {
		if closeAfter {
			c.closeWithFrame()
		}
		return
	}
	c.enqueue(outItem{data: encodeFrame(frame.New(frame.RECEIPT, frame.ReceiptId, id)), closeAfter: closeAfter})
}

func (c *conn) onConnect(f *frame.Frame) bool {
	c.s.recordConnect()
	if msg, body, ok := c.s.takeRefusal(func(f *faults) *stompRefusal { return &f.connectErr }); ok {
		c.sendError(msg, body)
		return true
	}
	c.mu.Lock()
	already := c.connected
	c.mu.Unlock()
	if already {
		c.sendError("already connected", "")
		return true
	}
	if v, ok := f.Header.Contains(frame.AcceptVersion); ok && !hasVersion12(v) {
		c.sendError("unsupported protocol version", "supported: 1.2")
		return true
	}
	cx, cy := time.Duration(0), time.Duration(0)
	if hb, ok := f.Header.Contains(frame.HeartBeat); ok {
		var err error
		if cx, cy, err = frame.ParseHeartBeat(hb); err != nil {
			c.sendError("invalid heart-beat header", hb)
			return true
		}
	}
	sx, sy := c.s.cfg.HeartbeatSend, c.s.cfg.HeartbeatRecv
	c.mu.Lock()
	c.connected = true
	c.sendEvery, c.recvEvery = negotiate(sx, cy), negotiate(cx, sy)
	c.mu.Unlock()
	c.enqueue(outItem{data: encodeFrame(frame.New(frame.CONNECTED,
		frame.Version, "1.2",
		frame.HeartBeat, fmt.Sprintf("%d,%d", sx.Milliseconds(), sy.Milliseconds()),
		frame.Server, "rhombus-sim/1",
		frame.Session, "sim-"+strconv.FormatUint(c.id, 10),
	))})
	select {
	case c.hbReset <- struct{}{}:
	default:
	}
	send, recv := c.heartbeats()
	c.s.log.Debug("stomp connected", "conn", c.id, "send_every", send, "recv_every", recv)
	return true
}

// negotiate is STOMP 1.2's rule for one direction: 0 if either side says 0, else the larger.
func negotiate(canSend, wants time.Duration) time.Duration {
	if canSend <= 0 || wants <= 0 {
		return 0
	}
	return max(canSend, wants)
}

func hasVersion12(v string) bool {
	for _, p := range strings.Split(v, ",") {
		if strings.TrimSpace(p) == "1.2" {
			return true
		}
	}
	return false
}

func (c *conn) onSubscribe(f *frame.Frame) bool {
	id, dest := f.Header.Get(frame.Id), f.Header.Get(frame.Destination)
	if id == "" || dest == "" {
		c.sendError("SUBSCRIBE needs id and destination", "")
		return true
	}
	if dest != c.s.topic() {
		c.sendError("access denied", "cannot subscribe to "+dest)
		return true
	}
	if msg, body, ok := c.s.takeRefusal(func(f *faults) *stompRefusal { return &f.subscribeErr }); ok {
		c.sendError(msg, body)
		return true
	}
	sp := &Subscription{Conn: c.id, ID: id, Remote: c.remote, UserAgent: c.userAgent, Start: time.Now()}
	c.mu.Lock()
	old := c.subs[id]
	c.subs[id] = sp
	c.mu.Unlock()
	if old != nil {
		c.s.endSpans(old)
	}
	c.s.addSpan(sp)
	c.s.log.Debug("stomp subscribed", "conn", c.id, "subscription", id, "destination", dest)
	c.receipt(f, false)
	return true
}

// sendError queues an ERROR frame, after which the writer closes the connection.
func (c *conn) sendError(msg, detail string) {
	f := frame.New(frame.ERROR, frame.Message, msg, frame.ContentType, "text/plain")
	f.Body = []byte(detail)
	f.Header.Set(frame.ContentLength, strconv.Itoa(len(f.Body)))
	if !c.enqueue(outItem{data: encodeFrame(f), closeAfter: true}) {
		c.abort()
	}
}

// topic is the org's change destination.
func (s *Server) topic() string { return "/topic/change/" + s.cfg.OrgUUID }

// emitTo queues one MESSAGE per subscription of c; it returns how many were queued.
func (c *conn) emitTo(payload []byte) int {
	if c.silent.Load() {
		return 0
	}
	c.mu.Lock()
	subs := make([]string, 0, len(c.subs))
	for id := range c.subs {
		subs = append(subs, id)
	}
	c.mu.Unlock()
	n := 0
	for _, id := range subs {
		f := frame.New(frame.MESSAGE,
			frame.Destination, c.s.topic(),
			frame.Subscription, id,
			frame.MessageId, "msg-"+strconv.FormatUint(c.s.msgID.Add(1), 10),
			frame.ContentType, "application/json",
			frame.ContentLength, strconv.Itoa(len(payload)),
		)
		f.Body = payload
		if c.enqueue(outItem{data: encodeFrame(f)}) {
			n++
		}
	}
	return n
}
