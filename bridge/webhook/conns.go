package webhook

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connCap is a listener that keeps at most max connections open. At the cap, a new
// connection closes the oldest one that is not carrying a verified request (one that
// never carried one first), so senders that open connections and trickle or withhold
// their bytes cannot lock out a signed delivery: it only needs its few milliseconds on
// the wire. When every connection carries a verified request, the new one is closed.
type connCap struct {
	net.Listener
	max  int
	shed prometheus.Counter

	mu    sync.Mutex
	conns map[*capConn]struct{}
}

func newConnCap(ln net.Listener, max int, shed prometheus.Counter) *connCap {
	return &connCap{Listener: ln, max: max, shed: shed, conns: map[*capConn]struct{}{}}
}

// capConn is one connection of a connCap.
type capConn struct {
	net.Conn
	l        *connCap
	since    time.Time
	busy     int  // verified requests in progress on it (guarded by l.mu)
	verified bool // it carried a verified request (guarded by l.mu)
	once     sync.Once
}

// Accept returns the next connection, making room for it when at the cap.
func (l *connCap) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cc := &capConn{Conn: c, l: l, since: time.Now()}
		victim, ok := l.admit(cc)
		if victim != nil {
			l.shed.Inc()
			_ = victim.Close()
		}
		if ok {
			return cc, nil
		}
		l.shed.Inc()
		_ = c.Close()
	}
}

// admit adds cc, choosing a victim to close when at the cap; false when there is none
// (cc must be closed instead).
func (l *connCap) admit(cc *capConn) (*capConn, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var victim *capConn
	if len(l.conns) >= l.max {
		for c := range l.conns {
			if c.busy == 0 && (victim == nil || better(c, victim)) {
				victim = c
			}
		}
		if victim == nil {
			return nil, false
		}
		delete(l.conns, victim)
	}
	l.conns[cc] = struct{}{}
	return victim, true
}

// better reports whether a is a better victim than b: never verified before verified,
// then the oldest.
func better(a, b *capConn) bool {
	if a.verified != b.verified {
		return !a.verified
	}
	return a.since.Before(b.since)
}

// Close closes the connection and forgets it.
func (c *capConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// connKey is the context key of the connection a request arrived on.
type connKey struct{}

// connContext stores a capConn (also under TLS) in the connection's context.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if cc, ok := c.(*capConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// protect marks the connection of ctx as carrying a verified request until the returned
// function is called; a no-op for a handler served without a connCap.
func protect(ctx context.Context) func() {
	cc, ok := ctx.Value(connKey{}).(*capConn)
	if !ok {
		return func() {}
	}
	cc.l.mu.Lock()
	cc.busy++
	cc.verified = true
	cc.l.mu.Unlock()
	return func() {
		cc.l.mu.Lock()
		cc.busy--
		cc.l.mu.Unlock()
	}
}
