package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = fmt.Errorf("natsjs: %w", sinks.ErrClosed)

// Header names the sink sets besides Nats-Msg-Id.
const (
	HeaderContentType   = "Content-Type"
	HeaderCEID          = "ce_id"
	HeaderCEType        = "ce_type"
	HeaderLeaseRev      = "Rhombus-Lease-Rev"
	HeaderInvalidReason = "Rhombus-Invalid-Reason"
	ContentType         = "application/cloudevents+json"
)

// Sink publishes events to a JetStream stream. It is safe for concurrent use.
type Sink struct {
	cfg     Config
	nc      *nats.Conn
	ownConn bool
	js      jetstream.JetStream
	sem     chan struct{}
	m       *sinks.SinkMetrics
	log     *slog.Logger

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
	abort  chan struct{} // closed when Close gives up waiting

	waiters sync.Map // *nats.Msg → chan ackResult, for the publishes awaiting an ack
}

// ackResult is what the jetstream callbacks report for one message.
type ackResult struct {
	ack *jetstream.PubAck
	err error
}

var _ sinks.Sink = (*Sink)(nil)

// New connects, creates or updates the stream and returns the sink.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, nc: cfg.Conn, sem: make(chan struct{}, cfg.MaxInFlight),
		m: sinks.NewMetrics(cfg.Registerer).For(cfg.Name), log: cfg.Logger.With("sink", cfg.Name),
		abort: make(chan struct{})}
	if s.nc == nil {
		nc, err := cfg.connect()
		if err != nil {
			return nil, err
		}
		s.nc, s.ownConn = nc, true
	}
	js, err := jetstream.New(s.nc, jetstream.WithPublishAsyncMaxPending(cfg.MaxInFlight),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
			s.report(m, ackResult{ack: ack})
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			s.report(m, ackResult{err: err})
		}))
	if err == nil {
		err = s.ensureStream(ctx, js)
	}
	if err != nil {
		if s.ownConn {
			s.nc.Close()
		}
		return nil, err
	}
	s.js = js
	return s, nil
}

// Name is the sink's name ("nats" unless configured).
func (s *Sink) Name() string { return s.cfg.Name }

// Conn is the connection the sink publishes on.
func (s *Sink) Conn() *nats.Conn { return s.nc }

// Ping reports whether the server is connected and the stream answers.
func (s *Sink) Ping(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("natsjs: not connected (%s)", s.nc.Status())
	}
	if _, err := s.js.Stream(ctx, s.cfg.Stream); err != nil {
		return fmt.Errorf("natsjs: stream %s: %w", s.cfg.Stream, err)
	}
	return nil
}

// Close stops accepting events, waits (bounded by ctx) for publishes under way, and
// closes the connection when the sink opened it. Publishes still waiting when ctx ends
// return ErrClosed.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		close(s.abort)
		<-done
		err = fmt.Errorf("natsjs: close: publishes still in flight: %w", ctx.Err())
	}
	if s.ownConn {
		s.nc.Close()
	}
	return err
}

// enter registers one Publish unless the sink is closed.
func (s *Sink) enter() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Publish sends ev and returns nil once JetStream acknowledged it (or reported it as a
// duplicate of a message it stored).
func (s *Sink) Publish(ctx context.Context, ev event.Event) (err error) {
	if !s.enter() {
		return ErrClosed
	}
	defer s.wg.Done()
	end := s.m.Begin()
	defer func() { end(err) }()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("natsjs: publish %s: waiting for a slot: %w", ev.ID, ctx.Err())
	case <-s.abort:
		return ErrClosed
	}
	defer func() { <-s.sem }()
	return s.publish(ctx, ev.ID, s.message(&ev))
}

// message builds the NATS message for ev.
func (s *Sink) message(ev *event.Event) *nats.Msg {
	h := make(nats.Header, 6)
	h[jetstream.MsgIDHeader] = []string{ev.ID}
	h[HeaderContentType] = []string{ContentType}
	h[HeaderCEID] = []string{ev.ID}
	h[HeaderCEType] = []string{ev.CEType()}
	if ev.Fence != 0 {
		h[HeaderLeaseRev] = []string{strconv.FormatUint(ev.Fence, 10)}
	}
	if ev.Invalid {
		h[HeaderContentType] = []string{"application/octet-stream"}
		if ev.Reason != "" {
			h[HeaderInvalidReason] = []string{ev.Reason}
		}
	}
	return &nats.Msg{Subject: ev.Subject(s.cfg.SubjectPrefix), Header: h, Data: ev.Body}
}

// publish makes one attempt to send msg and classifies its failure: ErrRejected when the
// server will never take it as it is, ErrClosed when the sink closed meanwhile, anything
// else transient (the caller retries with the same event, hence the same Nats-Msg-Id, so
// the stream keeps one copy). While disconnected it fails at once rather than piling
// copies into the reconnect buffer.
func (s *Sink) publish(ctx context.Context, id string, msg *nats.Msg) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("natsjs: publish %s: %w (%s)", id, nats.ErrDisconnected, s.nc.Status())
	}
	ack, err := s.once(ctx, msg)
	switch {
	case err == nil:
		if ack.Duplicate {
			s.m.Duplicates.Inc()
		}
		return nil
	case rejected(err):
		return fmt.Errorf("natsjs: publish %s: %w: %w", id, sinks.ErrRejected, err)
	}
	return fmt.Errorf("natsjs: publish %s: %w", id, err)
}

// report hands the outcome for m to the publish waiting for it.
func (s *Sink) report(m *nats.Msg, r ackResult) {
	if ch, ok := s.waiters.LoadAndDelete(m); ok {
		ch.(chan ackResult) <- r
	}
}

// once sends msg and waits for its ack (the jetstream context times it out after
// AckTimeout). Every attempt sends a fresh *nats.Msg so that a late outcome of an
// earlier attempt cannot be taken for this one's.
func (s *Sink) once(ctx context.Context, tmpl *nats.Msg) (*jetstream.PubAck, error) {
	msg := &nats.Msg{Subject: tmpl.Subject, Header: tmpl.Header, Data: tmpl.Data}
	ch := make(chan ackResult, 1)
	s.waiters.Store(msg, ch)
	if _, err := s.js.PublishMsgAsync(msg); err != nil {
		s.waiters.Delete(msg)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.ack, r.err
	case <-ctx.Done():
		s.waiters.Delete(msg)
		return nil, ctx.Err()
	case <-s.abort:
		s.waiters.Delete(msg)
		return nil, ErrClosed
	}
}

// rejected reports errors that say the server will never take this message as it is.
func rejected(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.Code == 400 || api.Code == 413)
}
