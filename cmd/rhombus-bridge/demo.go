package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/feed"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

const demoKey = "demo-api-key"

// demo is one `rhombus-bridge demo` run: the simulator and the configuration the bridge got.
type demo struct {
	cfg    config.Config
	sim    *sim.Server
	names  map[string]string // camera uuid → name, from the simulator
	wanted string            // NATS_EMBEDDED_LISTEN as set, before any free port is picked
}

// runDemo runs the simulator, the bridge and a live feed in one process: no account, no
// setting. The feed reads the stream back, so it shows what consumers get.
func runDemo(ctx context.Context, stdout, stderr io.Writer) error {
	cfg, err := config.Load(config.ModeDemo)
	if err != nil {
		return err
	}
	log := app.NewLogger(config.Log{Level: "warn", Format: "text"}, stderr)
	s, err := sim.New(sim.Config{APIKey: demoKey, OrgUUID: cfg.Rhombus.OrgUUID, Heartbeat: 5 * time.Second, Logger: log})
	if err != nil {
		return err
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer s.Close()
	dir, err := os.MkdirTemp("", "rhombus-bridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	demoConfig(&cfg, s, dir)
	d := &demo{cfg: cfg, sim: s, names: map[string]string{}, wanted: cfg.NATS.EmbeddedListen}
	for _, c := range s.Cameras() {
		d.names[c.UUID] = c.Name
	}
	ready := make(chan app.Info, 1)
	a, err := app.New(cfg, app.Options{Version: version, Logger: log, PickFreeNATSPort: true,
		OnReady: func(i app.Info) { ready <- i }})
	if err != nil {
		return err
	}
	return d.run(ctx, a, ready, stdout, d.startOne(stdout))
}

// demoConfig points the bridge at the simulator and keeps the demo off the default ports.
func demoConfig(cfg *config.Config, s *sim.Server, dir string) {
	cfg.Rhombus.APIKey = demoKey
	if s != nil {
		cfg.Rhombus.WSURL, cfg.Rhombus.APIURL = s.WSURL(), s.URL()
	}
	cfg.Rhombus.OrgUUID = ""
	cfg.Bridge.DataDir = dir
	cfg.Bridge.Sinks, cfg.Bridge.Lease = []string{"nats"}, "nats"
	cfg.NATS.URL = ""
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Webhook.Secrets = nil
}

// run runs a until ctx ends; once it is ready, start prints the header and starts the
// simulator's generators (on wg, when they run on their own goroutine), and the feed is
// shown until Ctrl-C.
func (d *demo) run(ctx context.Context, a *app.App, ready <-chan app.Info, out io.Writer,
	start func(ctx context.Context, info app.Info, wg *sync.WaitGroup) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var appErr error
	wg.Go(func() { appErr = a.Run(ctx); cancel() })
	var info app.Info
	select {
	case info = <-ready:
	case <-ctx.Done():
		wg.Wait()
		return appErr
	}
	err := start(ctx, info, &wg)
	if err == nil {
		err = d.showFeed(ctx, info.NATSURL, out)
	}
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(out, "\ndrained; bye")
	return appErr
}

// startOne prints the single-org header and runs the simulator's generator.
func (d *demo) startOne(out io.Writer) func(context.Context, app.Info, *sync.WaitGroup) error {
	return func(ctx context.Context, info app.Info, wg *sync.WaitGroup) error {
		d.header(out, info)
		wg.Go(func() {
			if _, err := d.sim.RunGenerator(ctx, sim.GenConfig{Rate: 2}); err != nil && ctx.Err() == nil {
				slog.Warn("generator", "error", err)
			}
		})
		return nil
	}
}

// header says where everything is, and where NATS went when NATS_EMBEDDED_LISTEN was taken.
func (d *demo) header(out io.Writer, info app.Info) {
	n := d.cfg.NATS
	fmt.Fprintf(out, "rhombus-bridge demo: simulator %s, org %s\n", d.sim.URL(), info.OrgUUID)
	if _, want, err := net.SplitHostPort(d.wanted); err == nil && want != "0" && want != urlPort(info.NATSURL) {
		fmt.Fprintf(out, "  note: NATS_EMBEDDED_LISTEN=%s is taken (another NATS?), so the demo's NATS listens on %s\n",
			d.wanted, info.NATSURL)
	}
	fmt.Fprintf(out, "  stream %s on %s — another consumer: nats sub '%s.>' --server %s\n",
		n.Stream, info.NATSURL, n.SubjectPrefix, info.NATSURL)
	fmt.Fprintf(out, "  status: curl http://%s/status   metrics: http://%s/metrics   Ctrl-C to stop\n\n", info.OpsAddr, info.OpsAddr)
}

func urlPort(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Port()
}

// showFeed prints every message landing in the stream until ctx ends.
func (d *demo) showFeed(ctx context.Context, natsURL string, out io.Writer) error {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	lookup := func(uuid string) string { return d.names[uuid] }
	return feed.Follow(ctx, js, feed.Options{Stream: d.cfg.NATS.Stream}, func(subject string, body []byte) error {
		_, err := fmt.Fprintln(out, feed.Line(subject, body, lookup))
		return err
	})
}
