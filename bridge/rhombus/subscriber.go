package rhombus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
)

// Handler receives the change feed. Its methods are called from Run's goroutine (Message
// from the one that drains the subscription) and must not block: Message in particular
// must hand the body on (to a bounded buffer) at once, or the socket stalls.
type Handler interface {
	// Subscribed: a SUBSCRIBE was sent on a fresh connection; events arrive from now on.
	Subscribed(ctx context.Context, info SubscribeInfo)
	// Message: one MESSAGE body, received at at. The body is not reused.
	Message(body []byte, at time.Time)
	// Disconnected: the subscription ended (cause is a *DisconnectError or a
	// *HandshakeError); lastAlive is when anything last arrived on it.
	Disconnected(cause error, lastAlive time.Time)
}

// SubscribeInfo describes one subscription.
type SubscribeInfo struct {
	Attempt        int           // connection attempts since Run started, this one included
	ConnectedAt    time.Time     // when the SUBSCRIBE was sent
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

// Run subscribes and resubscribes until ctx ends, then disconnects and returns nil. The
// first reconnect after a healthy subscription (one that lasted HealthyAfter) is
// immediate; further attempts back off with full jitter up to BackoffMax. It never gives
// up.
func (s *Subscriber) Run(ctx context.Context, h Handler) error {
	b := backoff.Backoff{Base: s.cfg.BackoffBase, Max: s.cfg.BackoffMax}
	var prev error
	var prevAt time.Time
	failures := 0 // attempts since the last healthy subscription
	for attempt := 1; ctx.Err() == nil; attempt++ {
		if failures > 0 && backoff.Sleep(ctx, b.Next()) != nil {
			break
		}
		healthy, cause := s.once(ctx, h, SubscribeInfo{Attempt: attempt, PrevCause: prev, PrevDisconnect: prevAt})
		if ctx.Err() != nil {
			break
		}
		prev, prevAt = cause, time.Now()
		if healthy {
			failures = 0
			b.Reset()
		} else {
			failures++
		}
	}
	return nil
}

// once runs one connection: connect, subscribe, drain. It returns whether the
// subscription lasted long enough to count as healthy, and why it ended.
func (s *Subscriber) once(ctx context.Context, h Handler, info SubscribeInfo) (healthy bool, cause error) {
	s.mu.Lock()
	s.st.Attempts++
	s.mu.Unlock()
	c, err := s.connect(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.ended(err, time.Time{})
			h.Disconnected(err, time.Time{})
		}
		return false, err
	}
	info.ConnectedAt, info.Heartbeat, info.Liveness = time.Now(), c.recv, c.window
	s.subscribed(info, info.PrevCause != nil)
	h.Subscribed(ctx, info)
	cause = s.drain(ctx, c, h)
	if ctx.Err() != nil {
		s.setSubscribed(false)
	} else {
		s.ended(cause, c.ws.LastAlive())
	}
	h.Disconnected(cause, c.ws.LastAlive())
	return time.Since(info.ConnectedAt) >= s.cfg.HealthyAfter, cause
}

// drain hands every MESSAGE to h until the subscription ends, and returns why it ended.
// When ctx ends it disconnects politely (bounded) and keeps draining until go-stomp is done.
func (s *Subscriber) drain(ctx context.Context, c *session, h Handler) error {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = c.st.Disconnect()
		_ = c.ws.Close()
	})
	var last error
	for msg := range c.sub.C {
		if msg.Err != nil {
			last = msg.Err
			continue
		}
		now := time.Now()
		s.m.messages.Inc()
		s.mu.Lock()
		s.st.LastEvent = now
		s.mu.Unlock()
		h.Message(msg.Body, now)
	}
	if !stop() {
		<-done
	}
	_ = c.ws.Abort() // go-stomp has closed it already; make sure KeepAlive has stopped
	return s.causeOf(ctx, c, last)
}

// causeOf decides why a subscription ended: our shutdown, a server ERROR frame, or what
// the WebSocket saw (close frame, abrupt close, silence).
func (s *Subscriber) causeOf(ctx context.Context, c *session, last error) error {
	switch e := c.ws.Err(); {
	case ctx.Err() != nil:
		return &DisconnectError{Cause: CauseShutdown, Err: ctx.Err()}
	case c.stompErr.Load():
		return &DisconnectError{Cause: CauseStompErr, Err: last}
	case e != nil && e.Cause != CauseShutdown:
		return e
	case last != nil:
		return &DisconnectError{Cause: CauseAbrupt, Err: last}
	}
	return &DisconnectError{Cause: CauseAbrupt, Err: errors.New("subscription ended")}
}
