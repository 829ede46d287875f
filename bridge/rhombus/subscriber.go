package rhombus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
)

// Handler receives the change feed. Its methods are called from Run's goroutine (Message
// from the one that drains the subscription) and must not block: Message in particular
// must hand the body on (to a bounded buffer) at once, or the socket stalls.
type Handler interface {
	// Subscribed: the server accepted a SUBSCRIBE on a fresh connection (its RECEIPT, or
	// where it sends none, the first MESSAGE or heart-beat after it); events arrive from
	// now on.
	Subscribed(ctx context.Context, info SubscribeInfo)
	// Message: one MESSAGE body, received at at. The body is not reused.
	Message(body []byte, at time.Time)
	// Flush: every message read so far was passed to Message, and the subscriber is about
	// to read the socket again (maybe to wait): a handler that batches messages hands
	// them on now. It is also called before Disconnected, on the same goroutine.
	Flush()
	// Disconnected: the subscription ended (cause is a *DisconnectError or a
	// *HandshakeError); lastAlive is when anything last arrived on it.
	Disconnected(cause error, lastAlive time.Time)
}

// SubscribeInfo describes one subscription.
type SubscribeInfo struct {
	Attempt        int           // connection attempts since Run started, this one included
	ConnectedAt    time.Time     // when the server accepted the SUBSCRIBE
	Heartbeat      time.Duration // negotiated server → client heart-beat (0: none)
	Liveness       time.Duration // silence longer than this ends the connection
	PrevCause      error         // why the previous subscription ended (nil: first)
	PrevDisconnect time.Time     // when it ended
}

// State is a snapshot for /status.
type State struct {
	Subscribed     bool      `json:"subscribed"`
	Reconnects     int64     `json:"reconnects"`
	Attempts       int64     `json:"attempts"`
	LastEvent      time.Time `json:"lastEvent"`
	SubscribedAt   time.Time `json:"subscribedAt"`
	LastCause      string    `json:"lastCause,omitempty"`
	LastError      string    `json:"lastError,omitempty"`
	LastDisconnect time.Time `json:"lastDisconnect"`
}

// Subscriber keeps one subscription to the org's change topic alive.
type Subscriber struct {
	cfg FeedConfig
	log *slog.Logger
	m   *feedMetrics

	mu sync.Mutex
	st State
}

// NewSubscriber validates cfg.
func NewSubscriber(cfg FeedConfig) (*Subscriber, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Subscriber{cfg: cfg, log: cfg.Logger.With("component", "rhombus_feed"), m: newFeedMetrics(cfg.Registerer)}, nil
}

// State returns the current state.
func (s *Subscriber) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Run subscribes and resubscribes until ctx ends, then returns nil. It never gives up.
// After a subscription the server had accepted, it reconnects at once (within the
// reconnect budget); failures to connect or subscribe back off (see FeedConfig).
//
// How the subscription ends with ctx depends on why ctx ended. On a shutdown it
// disconnects politely: DISCONNECT, its RECEIPT awaited for at most 2 s. When ctx was
// cancelled with a cause wrapping ErrAbandon (context.WithCancelCause: leadership was
// lost or lapsed, another replica may already be subscribed) it aborts the socket at
// once.
func (s *Subscriber) Run(ctx context.Context, h Handler) error {
	p := newReconnectPolicy(s.cfg)
	info := SubscribeInfo{}
	for attempt := 1; ; attempt++ {
		info.Attempt = attempt
		accepted, lastAlive, cause := s.once(ctx, h, info)
		if ctx.Err() != nil {
			s.setSubscribed(false)
			return nil
		}
		info.PrevCause, info.PrevDisconnect = cause, time.Now()
		wait, budget := p.next(accepted, cause, time.Now())
		s.ended(cause, lastAlive, wait)
		if budget {
			s.log.Warn("reconnect budget spent; waiting before resubscribing",
				"budget_per_minute", s.cfg.ReconnectBudget, "retry_in", wait.Round(time.Millisecond).String())
		}
		if backoff.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// once runs one connection: connect, subscribe, serve. It returns whether the server
// accepted the subscription, when anything last arrived on it (zero if it was not
// accepted) and why the connection ended.
func (s *Subscriber) once(ctx context.Context, h Handler, info SubscribeInfo) (accepted bool, lastAlive time.Time, cause error) {
	s.mu.Lock()
	s.st.Attempts++
	s.mu.Unlock()
	c, err := s.connect(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.Disconnected(err, time.Time{})
		}
		return false, time.Time{}, err
	}
	accept := func() {
		info.ConnectedAt, info.Heartbeat, info.Liveness = time.Now(), c.recv, c.window
		s.subscribed(info)
		h.Subscribed(ctx, info)
	}
	accepted, cause = s.serve(ctx, c, h, accept)
	h.Flush()
	if accepted {
		lastAlive = c.ws.LastAlive()
	}
	h.Disconnected(cause, lastAlive)
	return accepted, lastAlive, cause
}

// receiptGrace: a heart-beat counts as the server's acceptance of the SUBSCRIBE only this
// long after it was sent (a server that answers neither RECEIPT nor ERROR by then and
// keeps beating has taken it); earlier ones may predate the server reading it.
const receiptGrace = time.Second

// serve reads the connection until it ends: it calls accept once the server accepted
// the SUBSCRIBE and hands every MESSAGE to h. It returns whether the subscription was
// accepted and why the connection ended.
func (s *Subscriber) serve(ctx context.Context, c *session, h Handler, accept func()) (accepted bool, cause error) {
	end := s.watchContext(ctx, c)
	defer end()
	if c.raw != nil {
		c.raw.before = h.Flush
		defer func() { c.raw.before = nil }()
	}
	take := func() {
		if !accepted {
			accepted = true
			accept()
		}
	}
	for {
		f, err := c.rd.Read()
		switch {
		case err != nil:
			return accepted, s.causeOf(ctx, c, err)
		case f == nil: // heart-beat
			if time.Since(c.subAt) >= receiptGrace {
				take()
			}
		case f.Command == frame.RECEIPT:
			switch f.Header.Get(frame.ReceiptId) {
			case subscribeReceipt:
				take()
			case disconnectReceipt:
				_ = c.ws.Close()
			}
		case f.Command == frame.MESSAGE:
			take()
			if f.Header.Get(frame.Subscription) == subscriptionID {
				s.message(h, f.Body)
				if c.raw == nil {
					h.Flush()
				}
			}
		case f.Command == frame.ERROR:
			during := ""
			if !accepted {
				during = frame.SUBSCRIBE
			}
			_ = c.ws.Abort()
			return accepted, &DisconnectError{Cause: CauseStompErr, Err: newStompError(f, during)}
		}
	}
}

func (s *Subscriber) message(h Handler, body []byte) {
	now := time.Now()
	s.m.messages.Inc()
	s.mu.Lock()
	s.st.LastEvent = now
	s.mu.Unlock()
	h.Message(body, now)
}

// disconnectWait bounds the wait for the RECEIPT of a polite DISCONNECT.
const disconnectWait = 2 * time.Second

// ErrAbandon, wrapped in the cause of Run's context, makes Run abort the socket at once
// instead of disconnecting politely: the subscription is abandoned, not shut down.
var ErrAbandon = errors.New("rhombus: subscription abandoned")

// watchContext ends the connection when ctx ends: at once when its cause wraps
// ErrAbandon, else politely (see Run). The returned func stops watching and releases the
// connection.
func (s *Subscriber) watchContext(ctx context.Context, c *session) func() {
	var timer *time.Timer
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		if errors.Is(context.Cause(ctx), ErrAbandon) {
			_ = c.ws.Abort()
			return
		}
		timer = time.AfterFunc(disconnectWait, func() { _ = c.ws.Close() })
		if c.write(frame.New(frame.DISCONNECT, frame.Receipt, disconnectReceipt)) != nil {
			_ = c.ws.Close()
		}
	})
	return func() {
		if !stop() {
			<-done
			if timer != nil {
				timer.Stop()
			}
		}
		_ = c.ws.Abort() // the connection has ended already; make sure KeepAlive has stopped
	}
}

// causeOf decides why a connection ended: our shutdown, or what the WebSocket saw
// (close frame, abrupt close, silence, an oversized frame).
func (s *Subscriber) causeOf(ctx context.Context, c *session, readErr error) error {
	switch e := c.ws.Err(); {
	case ctx.Err() != nil:
		return &DisconnectError{Cause: CauseShutdown, Err: ctx.Err()}
	case e != nil && e.Cause != CauseShutdown:
		return e
	case readErr != nil:
		return &DisconnectError{Cause: CauseAbrupt, Err: readErr}
	}
	return &DisconnectError{Cause: CauseAbrupt, Err: errors.New("connection ended")}
}
