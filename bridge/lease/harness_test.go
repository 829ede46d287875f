package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// termRec is one term as a replica lived it.
type termRec struct {
	who        string
	token      uint64
	start, end time.Time
	cause      error
}

// replica runs one Lease; crash makes its backend mute before the context ends, so
// nothing is released (a kill -9).
type replica struct {
	name   string
	l      *Lease
	b      *muteBackend
	cancel context.CancelFunc
	done   chan struct{}
	// hold, if set, runs in onLeading after the leader context ended (drain work).
	hold func()
}

// muteBackend wraps a backend; once muted every call fails (a dead process or host).
type muteBackend struct {
	Backend
	muted atomic.Bool
}

var errMuted = errors.New("muted")

func (m *muteBackend) Renew(ctx context.Context) error {
	if m.muted.Load() {
		return errMuted
	}
	return m.Backend.Renew(ctx)
}
func (m *muteBackend) Release(ctx context.Context) error {
	if m.muted.Load() {
		return errMuted
	}
	return m.Backend.Release(ctx)
}
func (m *muteBackend) Close(ctx context.Context) error {
	if m.muted.Load() {
		if k, ok := m.Backend.(*Kafka); ok { // the process is gone: no LeaveGroup, but free the test's sockets
			k.dropConn()
			k.tr.CloseIdleConnections()
		}
		return errMuted
	}
	return m.Backend.Close(ctx)
}
func (m *muteBackend) renewInterval(ttl time.Duration) time.Duration {
	if ri, ok := m.Backend.(renewIntervaler); ok {
		return ri.renewInterval(ttl)
	}
	return ttl / 3
}

// cluster is the replicas of one test and the terms they lived.
type cluster struct {
	t     *testing.T
	ttl   time.Duration
	mk    func(name string) Backend
	n     int
	mu    sync.Mutex
	terms []*termRec
	reps  []*replica
}

func newCluster(t *testing.T, ttl time.Duration, mk func(name string) Backend) *cluster {
	return &cluster{t: t, ttl: ttl, mk: mk}
}

func (c *cluster) start(setup ...func(*Lease)) *replica {
	c.t.Helper()
	c.n++
	r := &replica{name: fmt.Sprintf("r%d", c.n), b: &muteBackend{Backend: c.mk(fmt.Sprintf("r%d", c.n))},
		done: make(chan struct{})}
	l, err := New(Config{InstanceID: r.name, TTL: c.ttl, Logger: slog.New(slog.DiscardHandler)}, r.b)
	if err != nil {
		c.t.Fatal(err)
	}
	r.l = l
	for _, f := range setup {
		f(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		if err := l.Run(ctx, func(lctx context.Context) { c.onLeading(r, lctx) }); err != nil {
			c.t.Errorf("%s: Run: %v", r.name, err)
		}
	}()
	c.mu.Lock()
	c.reps = append(c.reps, r)
	c.mu.Unlock()
	c.t.Cleanup(func() { r.stop(c.t) }) // before the backend's connection closes
	return r
}

func (c *cluster) onLeading(r *replica, lctx context.Context) {
	rec := &termRec{who: r.name, token: Revision(lctx), start: time.Now()}
	c.mu.Lock()
	c.terms = append(c.terms, rec)
	c.mu.Unlock()
	<-lctx.Done()
	c.mu.Lock()
	rec.end, rec.cause = time.Now(), context.Cause(lctx)
	c.mu.Unlock()
	if r.hold != nil {
		r.hold()
	}
}

// stop ends a replica gracefully (SIGTERM) and waits for Run to return.
func (r *replica) stop(t *testing.T) {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Run did not return", r.name)
	}
}

// crash kills a replica without release.
func (r *replica) crash(t *testing.T) {
	r.b.muted.Store(true)
	r.stop(t)
}

// leader waits until exactly one term is open and returns it and its replica.
func (c *cluster) leader(within time.Duration) (*termRec, *replica) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		var open []*termRec
		for _, tr := range c.terms {
			if tr.end.IsZero() {
				open = append(open, tr)
			}
		}
		reps := c.reps
		c.mu.Unlock()
		if len(open) == 1 {
			for _, r := range reps {
				if r.name == open[0].who {
					return open[0], r
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.t.Fatalf("no single leader within %v", within)
	return nil, nil
}

// newLeaderAfter waits for a term that started after at, and returns it.
func (c *cluster) newLeaderAfter(at time.Time, within time.Duration) *termRec {
	c.t.Helper()
	deadline := at.Add(within)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, tr := range c.terms {
			if tr.start.After(at) {
				c.mu.Unlock()
				return tr
			}
		}
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	c.t.Fatalf("no new leader within %v of %v", within, at.Format("15:04:05.000"))
	return nil
}

// checkTerms asserts that terms of different replicas never overlapped by more than
// slack (scheduling of the observing goroutines) and that tokens grew strictly.
func (c *cluster) checkTerms(slack time.Duration) {
	c.t.Helper()
	c.mu.Lock()
	terms := append([]*termRec(nil), c.terms...)
	c.mu.Unlock()
	sort.Slice(terms, func(i, j int) bool { return terms[i].start.Before(terms[j].start) })
	defer func() {
		if c.t.Failed() {
			for _, tr := range terms {
				c.t.Logf("term %s token %d %s..%s cause %v", tr.who, tr.token, tr.start.Format("05.000"), tr.end.Format("05.000"), tr.cause)
			}
		}
	}()
	for i, a := range terms {
		if i > 0 && a.token <= terms[i-1].token {
			c.t.Errorf("token %d of %s not above %d of %s", a.token, a.who, terms[i-1].token, terms[i-1].who)
		}
		for _, b := range terms[i+1:] {
			end := a.end
			if end.IsZero() {
				end = time.Now()
			}
			if ov := end.Sub(b.start); ov > slack {
				c.t.Errorf("%s (token %d) and %s (token %d) both led for %v", a.who, a.token, b.who, b.token, ov)
			}
		}
	}
}

func percentile(ds []time.Duration) (p50, worst time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)-1]
}

// freezer blocks a lease's renew loop once, for d, as SIGSTOP would.
type freezer struct {
	d      time.Duration
	on     atomic.Bool
	thawed chan time.Time
}

func (f *freezer) install(l *Lease) {
	f.thawed = make(chan time.Time, 1)
	l.beforeRenew = func() {
		if f.on.CompareAndSwap(true, false) {
			time.Sleep(f.d)
			f.thawed <- time.Now()
		}
	}
}

func (f *freezer) freeze() { f.on.Store(true) }

func (f *freezer) waitThaw(t *testing.T) time.Time {
	select {
	case at := <-f.thawed:
		return at
	case <-time.After(f.d + 10*time.Second):
		t.Fatal("never thawed")
		return time.Time{}
	}
}
