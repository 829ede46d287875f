package natsjs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures StartEmbedded.
type EmbeddedConfig struct {
	Listen   string // host:port, e.g. 127.0.0.1:4222; port 0 or -1 picks a free one
	StoreDir string // JetStream store directory (required)
	Logger   *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections, default 10s.
	ReadyTimeout time.Duration
}

// ErrListen is wrapped by StartEmbedded's error when it cannot listen on the address
// (typically because another server holds the port; the cause is wrapped too).
var ErrListen = errors.New("natsjs: embedded server cannot listen")

// StartEmbedded starts an in-process nats-server with JetStream, storing under StoreDir
// and listening on Listen so that outside clients can connect. The caller shuts it down
// with Shutdown and WaitForShutdown. s.ClientURL() is the URL to connect to.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("natsjs: embedded server: StoreDir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if port > 0 {
		// nats-server only logs a failed listen; probe first for a clear error.
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("%w on %s: %w", ErrListen, cfg.Listen, err)
		}
		_ = l.Close()
	}
	opts := &server.Options{
		ServerName: "rhombus-bridge-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsjs: embedded server: %w", err)
	}
	s.SetLoggerV2(slogAdapter{cfg.Logger.With("component", "nats-server")}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(cfg.ReadyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("%w on %s: not ready within %s", ErrListen, cfg.Listen, cfg.ReadyTimeout)
	}
	return s, nil
}

func splitListen(listen string) (string, int, error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("natsjs: embedded listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("natsjs: embedded listen %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// FreeListen returns host:port with a port that was free a moment ago (for the demo
// when the usual port is taken).
func FreeListen(host string) (string, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("natsjs: find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// slogAdapter is nats-server's Logger on slog. Fatalf logs at error level only: the
// server's own failure is reported to the caller, never an exit.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(f string, v ...any) { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)   { a.l.Warn(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Fatalf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Errorf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Debugf(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Tracef(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...)) }
