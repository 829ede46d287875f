package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Config describes one simulated Rhombus org.
type Config struct {
	APIKey  string // required: the x-auth-apikey every client must send
	OrgUUID string // default: derived from Seed
	OrgName string // default "Simulated Org"

	// Heartbeat is the server's STOMP heart-beat offer, both ways (default 10s; negative:
	// no heart-beats). HeartbeatSend and HeartbeatRecv override one direction each when
	// non-zero (negative: 0, that direction off).
	Heartbeat     time.Duration
	HeartbeatSend time.Duration
	HeartbeatRecv time.Duration

	Cameras     int  // simulated cameras (default 4)
	RESTPageCap int  // server cap on getPolicyAlertsV2 page size (default 100)
	NewestFirst bool // getPolicyAlertsV2 returns newest first

	Seed    uint64  // seeds ids, cameras and framing randomness (default 1)
	Framing Framing // initial framing mode (default one frame per message)

	QueueSize      int  // per-connection outbound frame queue (default 4096); full → dropped as slow
	MaxMessageSize int  // largest WebSocket message accepted from a client (default 1 MiB)
	MaxAlerts      int  // alerts kept in the REST history (default 200000, oldest dropped)
	MaxCalls       int  // REST calls kept for Calls (default 100000, oldest dropped)
	DisableAdmin   bool // no /_sim/ admin API

	// DeliverWebhooks sends every created alert to the webhook registered through
	// updateWebhookIntegrationV2 (signed with its secret), asynchronously.
	DeliverWebhooks bool

	Logger *slog.Logger // default slog.Default()
}

func (c *Config) defaults() error {
	if c.APIKey == "" {
		return errors.New("sim: APIKey is required")
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.OrgUUID == "" {
		c.OrgUUID = newIDGen(c.Seed ^ 0x5eed).uuid()
	}
	if c.OrgName == "" {
		c.OrgName = "Simulated Org"
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	c.HeartbeatSend = pickHB(c.HeartbeatSend, c.Heartbeat)
	c.HeartbeatRecv = pickHB(c.HeartbeatRecv, c.Heartbeat)
	setDefault(&c.Cameras, 4)
	setDefault(&c.RESTPageCap, 100)
	setDefault(&c.QueueSize, 4096)
	setDefault(&c.MaxMessageSize, 1<<20)
	setDefault(&c.MaxAlerts, 200000)
	setDefault(&c.MaxCalls, 100000)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

func pickHB(v, def time.Duration) time.Duration {
	if v == 0 {
		v = def
	}
	return max(v, 0)
}

func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Server is one simulated Rhombus: WebSocket change feed, REST API, admin API.
// All methods are safe for concurrent use.
type Server struct {
	cfg         Config
	log         *slog.Logger
	mux         *http.ServeMux
	upgrader    websocket.Upgrader
	ctx         context.Context // ends at Close
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	framing     atomic.Uint32
	msgID       atomic.Uint64
	sent        atomic.Int64 // MESSAGE frames written to sockets
	silentPongs atomic.Bool
	tolerant    atomic.Bool // ignore silent clients (IgnoreClientSilence)
	deaf        atomic.Bool // leave DISCONNECT unanswered (IgnoreDisconnect)

	mu       sync.Mutex
	closed   bool
	ln       net.Listener
	hs       *http.Server
	conns    map[*conn]struct{}
	st       stats
	faults   faults
	hist     history
	calls    []Call
	spans    []*Subscription
	ids      *idGen
	rng      *rand.Rand // framing randomness
	cameras  []Camera
	webhook  WebhookSettings
	changed  chan struct{} // closed and replaced on every state change
	hookQ    chan Alert
	genStops []context.CancelFunc
}

// New validates cfg and builds a Server; call Start to listen, or mount Handler yourself.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "rhombus_sim"),
		ctx:     ctx,
		cancel:  cancel,
		conns:   make(map[*conn]struct{}),
		ids:     newIDGen(cfg.Seed),
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x6672616d)),
		changed: make(chan struct{}),
		hookQ:   make(chan Alert, 1024),
	}
	s.hist.max = cfg.MaxAlerts
	s.cameras = makeCameras(s.ids, cfg.Cameras)
	s.framing.Store(uint32(cfg.Framing))
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      func(*http.Request) bool { return true },
	}
	s.routes()
	s.wg.Add(1)
	go s.webhookLoop()
	return s, nil
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// OrgUUID is the simulated org's uuid.
func (s *Server) OrgUUID() string { return s.cfg.OrgUUID }

// Handler serves the WebSocket, the REST API and (unless disabled) the admin API.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.closed || s.ln != nil {
		s.mu.Unlock()
		_ = ln.Close()
		return errors.New("sim: server closed or already started")
	}
	s.ln, s.hs = ln, hs
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	s.log.Info("simulator listening", "addr", ln.Addr().String(), "org_uuid", s.cfg.OrgUUID)
	return nil
}

// Addr is the listening address ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is the REST base URL, http://host:port.
func (s *Server) URL() string { return "http://" + s.Addr() }

// WSURL is the change-feed URL, ws://host:port/websocket.
func (s *Server) WSURL() string { return "ws://" + s.Addr() + "/websocket" }

// Close stops listening, drops every connection, stops generators and webhook delivery,
// and waits for all of its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	hs := s.hs
	conns := s.connList()
	s.mu.Unlock()
	s.cancel()
	var err error
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = hs.Shutdown(ctx)
		cancel()
		if err != nil {
			err = hs.Close()
		}
	}
	for _, c := range conns {
		c.abort()
	}
	s.wg.Wait()
	return err
}

// connList returns the open connections; s.mu must be held.
func (s *Server) connList() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// notifyLocked wakes every Wait; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Wait blocks until cond (called with no lock held) is true, re-checking after every
// state change of the simulator, or until ctx ends.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sim: wait: %w", ctx.Err())
		}
	}
}

// WaitSubscriptions waits until at least n subscriptions are active.
func (s *Server) WaitSubscriptions(ctx context.Context, n int) error {
	return s.Wait(ctx, func() bool { return s.Stats().Subscriptions >= n })
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/websocket", s.serveWS)
	s.restRoutes()
	if !s.cfg.DisableAdmin {
		s.adminRoutes()
	}
}

func hasScheme(r *http.Request) bool {
	v := r.URL.Query().Get("x-auth-scheme")
	if v == "" {
		v = r.Header.Get("x-auth-scheme")
	}
	v = strings.TrimSpace(v)
	return v == "api-token" || v == "partner-api-token"
}
