package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// demoArgs reads `demo [--orgs N]`.
func demoArgs(args []string, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("orgs", 0, "partner mode: simulate this many organisations behind one partner token")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if *n < 0 || *n > 1000 {
		return 0, fmt.Errorf("demo: --orgs %d: want 0 to 1000", *n)
	}
	return *n, nil
}

// runDemoArgs is `demo`, or with --orgs N the partner-mode demo.
func runDemoArgs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	n, err := demoArgs(args, stderr)
	if err != nil || n == 0 {
		if err != nil {
			return err
		}
		return runDemo(ctx, stdout, stderr)
	}
	return runDemoOrgs(ctx, n, stdout, stderr)
}

// runDemoOrgs runs the multi-org simulator (n orgs, one partner token, x-auth-org) and
// the bridge in partner mode, and shows the events of every org as they land.
func runDemoOrgs(ctx context.Context, n int, stdout, stderr io.Writer) error {
	cfg, err := config.Load(config.ModeDemo)
	if err != nil {
		return err
	}
	log := app.NewLogger(config.Log{Level: "warn", Format: "text"}, stderr)
	m, err := sim.StartMulti(sim.MultiConfig{PartnerKey: demoKey, Org: sim.Config{Heartbeat: 5 * time.Second}, Logger: log},
		"127.0.0.1:0", n, 0)
	if err != nil {
		return err
	}
	defer m.Close()
	dir, err := os.MkdirTemp("", "rhombus-bridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	demoConfig(&cfg, nil, dir)
	cfg.Rhombus.WSURL, cfg.Rhombus.APIURL = m.WSURL(), m.URL()
	cfg.Rhombus.AuthScheme, cfg.Rhombus.PartnerOrgUUID, cfg.Rhombus.Orgs = "partner-api-token", "", m.Orgs()
	d := &demo{cfg: cfg, names: map[string]string{}, wanted: cfg.NATS.EmbeddedListen}
	for _, org := range m.Orgs() {
		for _, c := range m.Org(org).Cameras() {
			d.names[c.UUID] = c.Name
		}
	}
	ready := make(chan app.Info, 1)
	a, err := app.New(cfg, app.Options{Version: version, Logger: log, PickFreeNATSPort: true,
		OnReady: func(i app.Info) { ready <- i }})
	if err != nil {
		return err
	}
	return d.run(ctx, a, ready, stdout, d.startOrgs(m, stdout))
}

// startOrgs prints the partner-mode header and starts every org's generator.
func (d *demo) startOrgs(m *sim.Multi, out io.Writer) func(context.Context, app.Info, *sync.WaitGroup) error {
	return func(_ context.Context, info app.Info, _ *sync.WaitGroup) error {
		fmt.Fprintf(out, "rhombus-bridge demo, partner mode: %d orgs behind one partner token (simulator %s)\n",
			len(m.Orgs()), m.URL())
		fmt.Fprintf(out, "  which replica leads which org: curl http://%s/status (orgs, shard)\n", info.OpsAddr)
		fmt.Fprintf(out, "  stream %s on %s; Ctrl-C to stop\n\n", d.cfg.NATS.Stream, info.NATSURL)
		for _, org := range m.Orgs() {
			if err := m.Org(org).StartGenerator(sim.GenConfig{Rate: 0.5}); err != nil {
				return err
			}
		}
		return nil
	}
}
