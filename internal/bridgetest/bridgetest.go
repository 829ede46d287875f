// Package bridgetest starts the real parts of an end-to-end test: the Rhombus simulator
// and a whole bridge (app.App) configured against it and a JetStream server. The
// acceptance tests in bridge/app, test/nogaps and deploy/monitoring share it.
package bridgetest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// APIKey is the key the simulator accepts and Config sends.
const APIKey = "test-key"

// Logger discards, unless TEST_LOG is set (then debug to stderr).
func Logger() *slog.Logger {
	if os.Getenv("TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// StartSim runs a simulator on a free loopback port until the test ends. Unset fields
// default to APIKey, 1 s heart-beats and Logger.
func StartSim(t testing.TB, cfg sim.Config) *sim.Server {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = APIKey
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = Logger()
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Config is the default configuration pointed at the simulator and a NATS server: NATS
// sink, no lease, 1 s heart-beats, a 3 s backfill overlap, free loopback ports, the
// webhook receiver off, data under a temporary directory.
func Config(t testing.TB, s *sim.Server, natsURL string) config.Config {
	t.Helper()
	cfg, err := config.Load(config.ModeDemo)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rhombus.APIKey = APIKey
	cfg.Rhombus.WSURL, cfg.Rhombus.APIURL = s.WSURL(), s.URL()
	cfg.Rhombus.Heartbeat = time.Second
	cfg.Rhombus.RESTRate = 100
	cfg.Bridge.Sinks = []string{"nats"}
	cfg.Bridge.DataDir = t.TempDir()
	cfg.Bridge.InstanceID = "test-1"
	cfg.Bridge.Lease = "none"
	cfg.Bridge.ShutdownTimeout = 10 * time.Second
	cfg.Bridge.BackfillOverlap = 3 * time.Second
	cfg.NATS.URL = natsURL
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Webhook.Addr = "127.0.0.1:0"
	cfg.Webhook.Secrets = nil
	return cfg
}

// App is a bridge running for a test.
type App struct {
	Info app.Info
	stop func() error
}

// Stop ends the bridge and returns what Run returned; later calls return the same.
func (a *App) Stop() error { return a.stop() }

// Start runs a bridge with cfg until Stop or the end of the test, and returns once it is
// ready. opt.Logger and opt.Registry default to Logger() and a fresh registry.
func Start(t testing.TB, cfg config.Config, opt app.Options) *App {
	t.Helper()
	ready := make(chan app.Info, 1)
	if opt.Logger == nil {
		opt.Logger = Logger()
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	opt.OnReady = func(i app.Info) { ready <- i }
	a, err := app.New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	r := &App{stop: stopper(t, cancel, done)}
	t.Cleanup(func() { _ = r.Stop() })
	select {
	case r.Info = <-ready:
	case err := <-done:
		t.Fatalf("bridge ended before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("bridge not ready within 30s")
	}
	return r
}

func stopper(t testing.TB, cancel context.CancelFunc, done <-chan error) func() error {
	var once sync.Once
	var runErr error
	return func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				t.Error("bridge did not stop within 60s")
			}
		})
		return runErr
	}
}

// WaitFor polls cond every 20 ms until it holds, or fails the test after d.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
