package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// errNotSent marks a write to a broker SendGuard refused. The request it belonged to may
// have been partly sent, so the sink treats the attempt as ambiguous (read back before
// writing again), but Publish returns at once.
var errNotSent = errors.New("write to the broker refused by the send guard")

// guardedDial dials like kafka-go's default dialer and wraps the connection so that
// SendGuard is asked before every write to it. The writer's connections are guarded at
// this level, under TLS and below kafka-go's per-connection queue, so that a produce
// request a frozen process had already queued (SIGSTOP, a paused VM) is not sent on
// SIGCONT once the process's lease term has ended: it would land after the successor's
// copy.
func guardedDial(timeout time.Duration, guard func() error) func(context.Context, string, string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &guardedConn{Conn: c, guard: guard}, nil
	}
}

type guardedConn struct {
	net.Conn
	guard func() error
}

func (c *guardedConn) Write(p []byte) (int, error) {
	if err := c.guard(); err != nil {
		_ = c.Conn.Close()
		return 0, fmt.Errorf("%w: %w", errNotSent, err)
	}
	return c.Conn.Write(p)
}
