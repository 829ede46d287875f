package main

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
)

func newOpsForTest(ready func() bool) (*ops.Server, error) {
	return ops.New(ops.Config{Addr: "127.0.0.1:0", Status: func() ops.Status { return ops.Status{} },
		Ready: func(context.Context) error {
			if !ready() {
				return errors.New("not ready")
			}
			return nil
		}, Gatherer: prometheus.NewRegistry()})
}

// started is a `run` in progress: its output so far and, once it returned, its exit code.
type started struct {
	out, errOut syncBuffer
	code        chan int
}

// start runs the command in the background; the caller ends it with ctx.
func start(ctx context.Context, args ...string) *started {
	s := &started{code: make(chan int, 1)}
	go func() { s.code <- run(ctx, args, &s.out, &s.errOut) }()
	return s
}

// exit waits up to d for the command to return and gives its exit code.
func (s *started) exit(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case c := <-s.code:
		return c
	case <-time.After(d):
		t.Fatalf("command still running after %s; stdout:\n%s\nstderr:\n%s", d, s.out.String(), s.errOut.String())
		return -1
	}
}

// holdPort listens on a free 127.0.0.1 port for the whole test, so nothing else can.
func holdPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().String()
}
