package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// Server serves a Handler on its own listener, optionally over TLS with client
// certificates, and drains at shutdown.
type Server struct {
	Addr    string // listen address, e.g. :8080 (Run only)
	Handler *Handler

	TLSCert, TLSKey string // PEM files; both set: serve HTTPS
	// ClientCA is a PEM file of CAs: set, a client certificate signed by one of them and
	// naming ClientCN (subject CN or a DNS SAN) is required.
	ClientCA string
	ClientCN string // default webhook-client.rhombus.com

	// DrainTimeout bounds the drain after ctx ends: new requests get 503 meanwhile, those
	// in progress finish. Default: the handler's AckTimeout plus 2s.
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// ServerFrom is the server of the environment's webhook settings.
func ServerFrom(c config.Webhook, h *Handler) *Server {
	return &Server{Addr: c.Addr, Handler: h, TLSCert: c.TLSCert, TLSKey: c.TLSKey, ClientCA: c.ClientCA,
		ClientCN: c.ClientCN}
}

// Serve serves on ln (closing it) until ctx ends. Then it drains: new requests get 503
// with Retry-After while those in progress finish, for at most DrainTimeout; then the
// server shuts down. It returns nil after a drain, or the error that stopped serving.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Handler == nil {
		_ = ln.Close()
		return errors.New("webhook: server without a handler")
	}
	log := s.Logger
	if log == nil {
		log = s.Handler.log
	}
	tc, err := s.tlsConfig()
	if err != nil {
		_ = ln.Close()
		return err
	}
	ln = newConnCap(ln, s.Handler.cfg.MaxConns, s.Handler.m.shed)
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	srv := s.httpServer(log)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("webhook receiver listening", "addr", ln.Addr().String(), "tls", tc != nil, "path", s.Handler.cfg.Path)
	select {
	case err := <-done:
		return fmt.Errorf("webhook: serve: %w", err)
	case <-ctx.Done():
	}
	return s.drain(srv, done, log)
}

// httpServer bounds every phase of a connection: headers within ReadHeaderTimeout (at
// most 5s), the whole request within ReadTimeout, the answer within the publish's
// AckTimeout more, an idle keep-alive connection for a minute, headers to 16 KiB.
func (s *Server) httpServer(log *slog.Logger) *http.Server {
	rt := s.Handler.cfg.ReadTimeout
	return &http.Server{Handler: s.Handler, ReadHeaderTimeout: min(rt, 5*time.Second), ReadTimeout: rt,
		WriteTimeout: rt + s.Handler.cfg.AckTimeout + 5*time.Second, IdleTimeout: time.Minute,
		MaxHeaderBytes: maxHeaderBytes, ConnContext: connContext,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}

// maxHeaderBytes bounds a request's headers (Rhombus sends a handful).
const maxHeaderBytes = 16 << 10

// drain answers 503 to new requests until those in progress finished (bounded), then
// shuts the server down.
func (s *Server) drain(srv *http.Server, done <-chan error, log *slog.Logger) error {
	timeout := s.DrainTimeout
	if timeout <= 0 {
		timeout = s.Handler.cfg.AckTimeout + 2*time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case <-s.Handler.Drain():
	case <-deadline.C:
		log.Warn("webhook drain timed out", "in_flight", s.Handler.InFlight())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
	<-done
	log.Info("webhook receiver stopped")
	return nil
}

// tlsConfig is nil without a certificate.
func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.TLSCert == "" && s.TLSKey == "" {
		if s.ClientCA != "" {
			return nil, errors.New("webhook: client certificates need TLSCert and TLSKey")
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("webhook: TLS key pair: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.ClientCA == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(s.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("webhook: client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("webhook: client CA %s: no PEM certificate", s.ClientCA)
	}
	cn := s.ClientCN
	if cn == "" {
		cn = DefaultClientCN
	}
	tc.ClientAuth, tc.ClientCAs = tls.RequireAndVerifyClientCert, pool
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("webhook: no client certificate")
		}
		leaf := cs.PeerCertificates[0]
		if leaf.Subject.CommonName == cn || slices.Contains(leaf.DNSNames, cn) {
			return nil
		}
		return fmt.Errorf("webhook: client certificate %q is not %q", leaf.Subject.CommonName, cn)
	}
	return tc, nil
}
