package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is a lease's configuration.
type Config struct {
	InstanceID string        // this replica's name in the store and in Status
	TTL        time.Duration // lease lifetime; renewed every TTL/3 (NATS)
	// Margin is how long before the TTL runs out, counted from the start of the last
	// successful renewal, the leader steps down. Zero: TTL/5.
	Margin     time.Duration
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Status is a snapshot of the lease as this replica sees it.
type Status struct {
	Instance    string    `json:"instance"`
	Leader      bool      `json:"leader"`
	Holder      string    `json:"holder"`
	Revision    uint64    `json:"revision"` // fencing token of the current (or last) term
	Transitions uint64    `json:"transitions"`
	LeaderSince time.Time `json:"leaderSince,omitzero"`
}

// Lease campaigns for, holds and releases the leader lease through a Backend.
type Lease struct {
	cfg     Config
	b       Backend
	log     *slog.Logger
	m       *metrics
	running sync.Mutex

	mu     sync.Mutex
	status Status
	term   *term // the current term, nil while standing by

	// beforeRenew, when set (tests), runs before every renewal: a frozen process.
	beforeRenew func()
}

// New validates cfg and returns a lease over b.
func New(cfg Config, b Backend) (*Lease, error) {
	switch {
	case b == nil:
		return nil, errors.New("lease: no backend")
	case cfg.InstanceID == "":
		return nil, errors.New("lease: empty instance id")
	case cfg.TTL < 100*time.Millisecond:
		return nil, fmt.Errorf("lease: ttl %v below 100ms", cfg.TTL)
	case cfg.Margin < 0 || cfg.Margin >= cfg.TTL/2:
		return nil, fmt.Errorf("lease: margin %v outside [0, ttl/2)", cfg.Margin)
	}
	if cfg.Margin == 0 {
		cfg.Margin = cfg.TTL / 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Lease{cfg: cfg, b: b, log: cfg.Logger.With("instance", cfg.InstanceID), m: m,
		status: Status{Instance: cfg.InstanceID}}, nil
}

// Status returns what this replica knows of the lease.
func (l *Lease) Status() Status {
	l.mu.Lock()
	s := l.status
	t := l.term
	l.mu.Unlock()
	s.Leader = t != nil && t.held()
	if s.Leader {
		s.Holder = l.cfg.InstanceID
	} else {
		s.Holder = l.b.Holder()
	}
	return s
}

// Held reports, from the local monotonic clock, whether this replica holds the lease
// right now. Check it (or the leader context) right before every action of the leader.
func (l *Lease) Held() bool {
	l.mu.Lock()
	t := l.term
	l.mu.Unlock()
	return t != nil && t.held()
}

// Ended returns a channel closed when the current term ends (lost, lapsed or stepped
// down); it is closed already when this replica holds no term.
func (l *Lease) Ended() <-chan struct{} {
	l.mu.Lock()
	t := l.term
	l.mu.Unlock()
	if t == nil {
		return ended
	}
	return t.over
}

var ended = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

type revisionKey struct{}

// Revision is the fencing token of the term leaderCtx belongs to (0 if none).
func Revision(leaderCtx context.Context) uint64 {
	v, _ := leaderCtx.Value(revisionKey{}).(uint64)
	return v
}

// Run campaigns until ctx ends. Each time this replica wins, onLeading runs with a
// leader context (see the package doc); once it returns the lease is released and the
// campaign resumes. onLeading never runs twice at once. When ctx ends the leader context
// is cancelled, the lease is still renewed until onLeading returns (so in-flight work
// can finish under it) and then released at once. Run returns nil when ctx ends, or an
// error if the store cannot be prepared.
func (l *Lease) Run(ctx context.Context, onLeading func(leaderCtx context.Context)) error {
	if !l.running.TryLock() {
		return errors.New("lease: Run already running")
	}
	defer l.running.Unlock()
	defer l.closeBackend()
	if err := l.b.Prepare(ctx, l.cfg.InstanceID, l.cfg.TTL); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("lease: prepare: %w", err)
	}
	if d, ok := l.b.(interface{ Degraded() string }); ok && d.Degraded() != "" {
		l.log.Warn("lease degraded", "reason", d.Degraded())
	}
	c := &campaign{l: l}
	for ctx.Err() == nil {
		t, err := l.b.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.failed(ctx, err)
			continue
		}
		c.acquired()
		l.lead(ctx, t, onLeading)
	}
	return nil
}

func (l *Lease) closeBackend() {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.TTL/3+time.Second)
	defer cancel()
	if err := l.b.Close(ctx); err != nil {
		l.log.Warn("lease backend close", "error", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
