//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// options are the run's sizes; the defaults keep a whole run under five minutes.
type options struct {
	burst       int
	steady      time.Duration
	rate        int
	latencyRate int
	latencyDur  time.Duration
	jsonOut     string
	keep        bool
	bridgeBin   string
	profile     string
	webhooks    int
	gomaxprocs  int
}

func main() {
	var o options
	flag.IntVar(&o.burst, "burst", 100_000, "events in the burst (and raw baseline messages)")
	flag.DurationVar(&o.steady, "steady", 30*time.Second, "length of the steady-rate window")
	flag.IntVar(&o.rate, "rate", 500, "steady rate, events/s")
	flag.IntVar(&o.latencyRate, "latency-rate", 1000, "rate of the latency window, events/s")
	flag.DurationVar(&o.latencyDur, "latency-for", 10*time.Second, "length of the latency window")
	flag.StringVar(&o.jsonOut, "json", "", "also write the figures as JSON to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, binaries)")
	flag.StringVar(&o.profile, "profile", "", "write a 10 s CPU profile of the bridge, taken from the start of the burst, to this file (and a heap profile 2 s into it to FILE.heap, a 10 s CPU profile from the start of the steady window to FILE.steady, with a heap profile 10 s into it, and one from the start of the webhook phase to FILE.webhook)")
	flag.IntVar(&o.webhooks, "webhooks", 6000, "signed webhooks to the bridge, and as many to the reference receiver (0: no webhook phase)")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "run the bridge with GOMAXPROCS=N (0: the runtime's default, the CPUs or a container's CPU limit; deploy/base's limit of one CPU gives 1)")
	flag.StringVar(&o.bridgeBin, "bridge-bin", "", "measure this rhombus-bridge binary instead of building this tree's")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "blackbox:", err)
		os.Exit(1)
	}
}

// harness holds the run's work directory and every process it started.
type harness struct {
	dir   string
	mu    sync.Mutex
	procs []*proc
}

// add records p so that it is stopped at the end.
func (h *harness) add(p *proc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.procs = append(h.procs, p)
}

func (h *harness) bin(name string) string { return filepath.Join(h.dir, "bin", name) }

// onSignal runs cleanup and exits on SIGINT or SIGTERM, whatever phase is running (the
// children would die with the harness anyway, by Pdeathsig, but the work directory not).
func (h *harness) onSignal(cleanup func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cleanup()
		os.Exit(130)
	}()
}

// finish stops the processes in reverse order of start and removes the work directory
// unless asked to keep it.
func (h *harness) finish(keep bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].stop()
	}
	h.procs = nil
	if keep {
		fmt.Fprintln(os.Stderr, "work directory kept:", h.dir)
	} else {
		_ = os.RemoveAll(h.dir)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "rhombus-blackbox-*")
	if err != nil {
		return err
	}
	h := &harness{dir: dir}
	var once sync.Once
	cleanup := func() { once.Do(func() { h.finish(o.keep) }) }
	defer cleanup()
	h.onSignal(cleanup)
	if err := h.build(o.bridgeBin); err != nil {

		return err
	}
	r, err := h.measure(ctx, o)
	if err != nil {
		return err
	}
	r.Table(os.Stdout)
	fmt.Println()
	r.Goals(os.Stdout)
	if o.jsonOut != "" {
		return r.WriteFile(o.jsonOut)
	}
	return nil
}

// build compiles the bridge (unless bridgeBin names one), the feeder, the relay, the
// reference webhook receiver and nats-server (from the module cache, at the version
// go.mod pins) into the work directory.
func (h *harness) build(bridgeBin string) error {
	if bridgeBin != "" {
		if err := os.MkdirAll(filepath.Dir(h.bin("x")), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(bridgeBin, h.bin("rhombus-bridge")); err != nil {
			return err
		}
	}
	for name, pkg := range map[string]string{
		"rhombus-bridge": "github.com/rhombus-bridge/rhombus-bridge/cmd/rhombus-bridge",
		"feeder":         "github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/cmd/feeder",
		"relay":          "github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/cmd/relay",
		"webhookref":     "github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/cmd/webhookref",
		"nats-server":    "github.com/nats-io/nats-server/v2",
	} {
		if name == "rhombus-bridge" && bridgeBin != "" {
			continue
		}
		out, err := exec.Command("go", "build", "-o", h.bin(name), pkg).CombinedOutput()
		if err != nil {
			return fmt.Errorf("build %s: %w\n%s", name, err, out)
		}
	}
	return nil
}

// freeAddr is a loopback address with a port free at the time of asking.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func cutHostPort(addr string) (host, port string, err error) { return net.SplitHostPort(addr) }
