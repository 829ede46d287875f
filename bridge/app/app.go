package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/spool"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// Options are what the command line adds to the configuration.
type Options struct {
	Version  string
	Logger   *slog.Logger         // default: from LOG_LEVEL/LOG_FORMAT on stderr
	Registry *prometheus.Registry // default: a new registry with Go and process collectors
	// PickFreeNATSPort lets an embedded NATS listen on a free port when
	// NATS_EMBEDDED_LISTEN is taken (demo); otherwise that is an error.
	PickFreeNATSPort bool
	// OnReady is called once everything is up, with the addresses in use.
	OnReady func(Info)
	// OnAcked, when set, is told of every event every sink acknowledged, with its
	// latency from receipt (benchmarks).
	OnAcked func(ev event.Event, latency time.Duration)
}

// Info is what a running App tells its caller.
type Info struct {
	NATSURL     string // empty without NATS
	OpsAddr     string
	WebhookAddr string // empty when the receiver is off
	OrgUUID     string
}

// App is one rhombus-bridge process.
type App struct {
	cfg config.Config
	opt Options
	log *slog.Logger
	reg *prometheus.Registry

	embedded *server.Server
	nc       *nats.Conn
	natsURL  string
	sinkList []sinks.Sink
	guarded  []*kafka.Sink // the Kafka sinks whose SendGuard is this App's fence (see settleGuarded)
	pipe     *pipeline.Pipeline
	wm       *pipeline.Watermark
	started  time.Time
	runCtx   context.Context // Run's context: done means shutting down

	rest       *rhombus.Client
	credential *rate.Limiter // partner mode: the API key's REST budget, shared by its orgs (nil: none)
	org        string
	enricher   *rhombus.Enricher
	sub        *rhombus.Subscriber
	store      recovery.WatermarkStore
	recMetrics *recovery.Metrics
	lease      *lease.Lease
	kshard     *lease.KafkaShard // partner mode, Kafka lease: the shard group every org's lease is held through
	spool      *spool.Spool
	fence      atomic.Uint64 // the lease revision whose events may be published (0: none)
	overflowed chan struct{} // an overflow gap waits for room in the queue (buffered: 1)
	replaySeen sync.Once     // the Kafka sinks read the ids on their topics before a spool replay

	mu    sync.Mutex
	state state // what /status and /readyz report
}

// New checks the options; it does no I/O (Run does).
func New(cfg config.Config, opt Options) (*App, error) {
	if opt.Logger == nil {
		opt.Logger = NewLogger(cfg.Log, os.Stderr)
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
		opt.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if len(cfg.Bridge.Sinks) == 0 {
		return nil, errors.New("app: no sink configured")
	}
	if cfg.Bridge.Lease == "none" { // this replica leads: lease_leader is 1, as on the dashboard
		if err := lease.RegisterWithoutLease(opt.Registry); err != nil {
			return nil, err
		}
	}
	a := &App{cfg: cfg, opt: opt, log: opt.Logger.With("instance", cfg.Bridge.InstanceID), reg: opt.Registry,
		wm: pipeline.NewWatermark(0), overflowed: make(chan struct{}, 1)}
	a.state.org = cfg.Rhombus.OrgUUID
	return a, nil
}

// Run starts everything, runs until ctx ends, then shuts down in order (see the package
// documentation). Start-up failures are returned with their cause.
func (a *App) Run(ctx context.Context) error {
	a.started = time.Now()
	a.log.Info("starting rhombus-bridge", "version", a.opt.Version, "deployment", a.cfg.Bridge.Deployment,
		"sinks", a.cfg.Bridge.Sinks, "lease", a.cfg.Bridge.Lease)
	defer a.closeAll()
	if a.needsNATS() {
		if err := a.startNATS(ctx); err != nil {
			return err
		}
	}
	if err := a.openSinks(ctx); err != nil {
		return err
	}
	return a.serve(ctx)
}

// closeAll releases what Run opened, the embedded server last.
func (a *App) closeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Bridge.ShutdownTimeout+time.Second)
	defer cancel()
	for _, s := range a.sinkList {
		if err := s.Close(ctx); err != nil {
			a.log.Warn("sink close", "sink", s.Name(), "error", err)
		}
	}
	if c, ok := a.store.(interface{ Close() }); ok {
		c.Close() // the Kafka watermark store's connections
	}
	if a.spool != nil {
		if err := a.spool.Close(); err != nil {
			a.log.Warn("spool close", "error", err)
		}
	}
	if a.nc != nil {
		_ = a.nc.Drain()
		a.nc.Close()
	}
	if a.embedded != nil {
		a.embedded.Shutdown()
		a.embedded.WaitForShutdown()
	}
	a.log.Info("stopped")
}
