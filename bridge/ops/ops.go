package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the /status document. The contract fixes the first fields; the rest are
// additions for operators.
type Status struct {
	Instance     string `json:"instance"`
	Deployment   string `json:"deployment"`
	Leader       bool   `json:"leader"`
	Subscribed   bool   `json:"subscribed"`
	OrgUUID      string `json:"orgUuid"`
	LastEventMs  int64  `json:"lastEventMs"`
	Reconnects   int64  `json:"reconnects"`
	Backfilled   int64  `json:"backfilled"`
	Gaps         int64  `json:"gaps"`
	Version      string `json:"version,omitempty"`
	Lease        any    `json:"lease,omitempty"`
	WatermarkMs  int64  `json:"watermarkMs"`
	QueueDepth   int    `json:"queueDepth"`
	OpenGap      any    `json:"openGap,omitempty"`
	Feed         any    `json:"feed,omitempty"`
	Sinks        []Sink `json:"sinks,omitempty"`
	StartedAt    string `json:"startedAt,omitempty"`
	ReadyProblem string `json:"readyProblem,omitempty"`
	// Partner mode (many organisations): the orgs this replica leads, the shard map
	// (org → replica) as it sees it, and the live replicas and fair share.
	Orgs      any `json:"orgs,omitempty"`
	Shard     any `json:"shard,omitempty"`
	ShardInfo any `json:"shardInfo,omitempty"`
}

// Sink is one sink's reachability in /status.
type Sink struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	Error string `json:"error,omitempty"`
}

// Config wires the endpoints to the program.
type Config struct {
	Addr string
	// Pprof serves /debug/pprof/ (HTTP_PPROF=true); off, those paths are 404.
	Pprof    bool
	Status   func() Status
	Ready    func(ctx context.Context) error // nil error: ready
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
}

// Server serves the endpoints.
type Server struct {
	cfg Config
	srv *http.Server
	ln  net.Listener
}

// New validates cfg and binds the listener, so a taken port fails at start.
func New(cfg Config) (*Server, error) {
	if cfg.Status == nil || cfg.Ready == nil || cfg.Gatherer == nil {
		return nil, errors.New("ops: Status, Ready and Gatherer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen on HTTP_ADDR %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, ln: ln}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: writeTimeout, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
	if cfg.Pprof {
		s.srv.WriteTimeout = pprofWriteTimeout
	}
	return s, nil
}

// Write timeouts: a scrape or a status answer has 15 s; with the profiler on, a CPU
// profile or trace may run for up to two minutes (?seconds=120).
const (
	writeTimeout      = 15 * time.Second
	pprofWriteTimeout = 125 * time.Second
)

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Handler routes the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.cfg.Status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	if s.cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain")
	if err := s.cfg.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Close releases the listener of a server that is not running.
func (s *Server) Close() error { return s.ln.Close() }

// Run serves until ctx ends, then shuts down within a second.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = s.srv.Shutdown(sctx)
	<-errc
	return nil
}
