// Package natstest runs a real, embedded nats-server with JetStream for tests: on a free
// loopback port, storing under a temporary directory, restartable on the same port and
// store (to test broker outages).
package natstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rhombus-bridge/rhombus-bridge/internal/freeport"
)

// Server is an embedded JetStream server owned by one test.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Start runs a server for the test and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host: "127.0.0.1", Port: freePort(t), JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, MaxPayload: 8 << 20,
	}}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL is the client URL (stable across restarts).
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Stop shuts the server down (clients see the broker gone); Restart brings it back.
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart starts the server (again) on the same port and store. The port may linger
// briefly after a shutdown, so it tries for a few seconds.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	for range 50 {
		if s.srv, err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("natstest: %v", err)
}

func (s *Server) start() (*server.Server, error) {
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		return nil, err
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("server on port %d not ready", s.opts.Port)
	}
	return srv, nil
}

// freePort is outside the kernel's ephemeral range, so a restart on the same port
// (outage tests) does not find it taken by some client connection.
func freePort(t testing.TB) int { return freeport.Port(t) }
