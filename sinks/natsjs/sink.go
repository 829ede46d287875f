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

	wmu     sync.Mutex
	waiting map[*nats.Msg]*waiter // the attempts awaiting an answer
}

var (
	_ sinks.Sink           = (*Sink)(nil)
	_ sinks.AsyncPublisher = (*Sink)(nil)
)

// New connects, creates or updates the stream and returns the sink.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, nc: cfg.Conn, sem: make(chan struct{}, cfg.MaxInFlight),
		m: sinks.NewMetrics(cfg.Registerer).For(cfg.Name), log: cfg.Logger.With("sink", cfg.Name),
		abort: make(chan struct{}), waiting: map[*nats.Msg]*waiter{}}
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
			s.report(m, ack, nil)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			s.report(m, nil, err)
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
		s.wmu.Lock()
		close(s.abort) // under wmu: start adds no waiter after failWaiting swept them
		s.wmu.Unlock()
		s.failWaiting()
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
func (s *Sink) Publish(ctx context.Context, ev event.Event) error {
	done := make(chanCompletion, 1)
	if err := s.PublishAsync(ctx, ev, done); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("natsjs: publish %s: %w", ev.ID, ctx.Err())
	}
}

// chanCompletion hands an asynchronous outcome to a waiting Publish.
type chanCompletion chan error

func (c chanCompletion) Done(err error) { c <- err }

// PublishAsync sends ev and reports JetStream's answer to done (see
// sinks.AsyncPublisher); the jetstream context times the answer out after AckTimeout.
// While disconnected it fails at once rather than piling copies into the reconnect
// buffer. A failure is classified: ErrRejected when the server will never take the
// message as it is, ErrClosed when the sink closed meanwhile, anything else transient
// (the caller retries with the same event, hence the same Nats-Msg-Id, so the stream
// keeps one copy).
func (s *Sink) PublishAsync(ctx context.Context, ev event.Event, done sinks.Completion) error {
	if !s.enter() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil { // first: select would pick a free slot half the time
		s.wg.Done()
		return fmt.Errorf("natsjs: publish %s: %w", ev.ID, err)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.wg.Done()
		return fmt.Errorf("natsjs: publish %s: waiting for a slot: %w", ev.ID, ctx.Err())
	case <-s.abort:
		s.wg.Done()
		return ErrClosed
	}
	if err := s.start(&ev, done); err != nil {
		s.m.Errors.Inc()
		<-s.sem
		s.wg.Done()
		return err
	}
	return nil
}

// message builds the NATS message for ev; its header values share one allocation.
func (s *Sink) message(ev *event.Event) *nats.Msg {
	vals := make([]string, 6)
	vals[0], vals[1], vals[2], vals[3] = ev.ID, ContentType, ev.ID, ev.CEType()
	h := make(nats.Header, 6)
	h[jetstream.MsgIDHeader] = vals[0:1:1]
	h[HeaderContentType] = vals[1:2:2]
	h[HeaderCEID] = vals[2:3:3]
	h[HeaderCEType] = vals[3:4:4]
	if ev.Fence != 0 {
		vals[4] = strconv.FormatUint(ev.Fence, 10)
		h[HeaderLeaseRev] = vals[4:5:5]
	}
	if ev.Invalid {
		vals[1] = "application/octet-stream"
		if ev.Reason != "" {
			vals[5] = ev.Reason
			h[HeaderInvalidReason] = vals[5:6:6]
		}
	}
	return &nats.Msg{Subject: ev.Subject(s.cfg.SubjectPrefix), Header: h, Data: ev.Body}
}

// rejected reports errors that say the server will never take this message as it is.
func rejected(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.Code == 400 || api.Code == 413)
}
