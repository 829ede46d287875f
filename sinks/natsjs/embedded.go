package natsjs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
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
	if err := usableDir(cfg.StoreDir); err != nil {
		return nil, fmt.Errorf("natsjs: embedded server: store directory %s is not usable: %w", cfg.StoreDir, err)
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
	log := slogAdapter{l: cfg.Logger.With("component", "nats-server"), fatal: make(chan string, 1)}
	s.SetLoggerV2(log, false, false, false)
	go s.Start()
	if err := waitReady(s, log.fatal, cfg); err != nil {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, err
	}
	return s, nil
}

// waitReady waits until s accepts connections, or returns the error nats-server reported
// when it gave up starting (a store it cannot use, a port it cannot bind) at once, rather
// than "not ready" after the whole ReadyTimeout.
func waitReady(s *server.Server, fatal <-chan string, cfg EmbeddedConfig) error {
	deadline := time.Now().Add(cfg.ReadyTimeout)
	for !s.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-fatal:
			if strings.Contains(msg, "listening on port") { // nats-server's own words for a failed bind
				return fmt.Errorf("%w on %s: nats-server: %s", ErrListen, cfg.Listen, msg)
			}
			return fmt.Errorf("natsjs: embedded server did not start: nats-server: %s", msg)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w on %s: not ready within %s", ErrListen, cfg.Listen, cfg.ReadyTimeout)
		}
	}
	return nil
}

// usableDir creates dir if needed and proves a file can be written in it, so an unusable
// BRIDGE_DATA_DIR (read-only, not a directory, no permission) is reported with its cause.
func usableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte{0})
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	return errors.Join(werr, cerr, rerr)
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

// slogAdapter is nats-server's Logger on slog. Fatalf logs at error level only, and hands
// the first message to fatal: the server's own failure is reported to the caller, never
// an exit.
type slogAdapter struct {
	l     *slog.Logger
	fatal chan string // buffered 1
}

func (a slogAdapter) Noticef(f string, v ...any) { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)   { a.l.Warn(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Fatalf(f string, v ...any) {
	msg := fmt.Sprintf(f, v...)
	a.l.Error(msg)
	select {
	case a.fatal <- msg:
	default:
	}
}
func (a slogAdapter) Errorf(f string, v ...any) { a.l.Error(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Debugf(f string, v ...any) { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Tracef(f string, v ...any) { a.l.Debug(fmt.Sprintf(f, v...)) }
