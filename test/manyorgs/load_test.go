package manyorgs_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// TestManyOrgsLoad (MANYORGS_BENCH=1) runs MANYORGS_LOAD_N orgs (default 1000) on one
// replica, fed by the feeder process at MANYORGS_LOAD_RATE events/s per org (default 1),
// spread evenly over each second, for MANYORGS_LOAD_FOR (default 30s). It reports the
// latency from the feeder's send to the collector's receipt from JetStream, the
// replica's CPU per event and its memory. MANYORGS_PPROF_OUT=path also saves a CPU
// profile of the window (path.cpu) and a heap profile after it.
func TestManyOrgsLoad(t *testing.T) {
	benchOnly(t)
	n, perOrg := envInt("MANYORGS_LOAD_N", 1000), envInt("MANYORGS_LOAD_RATE", 1)
	d, err := time.ParseDuration(os.Getenv("MANYORGS_LOAD_FOR"))
	if err != nil {
		d = 30 * time.Second
	}
	w, f := newFedWorld(t, n)
	w.override = productionTimings
	w.startReplicas(1)
	began := time.Now()
	if _, err := f.command(6*time.Minute, "wait"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orgs subscribed after %v", n, time.Since(began).Round(time.Millisecond))
	r := w.reps[0]
	lat, sent, cpu := loadWindow(t, w, f, n*perOrg, d)
	q := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(10 * time.Microsecond)
	}
	t.Logf("%d orgs, %d ev/s in all for %v: %d events sent, %d stored; send → stored p50 %v p99 %v max %v; "+
		"replica CPU %.0f µs per event; heap in use %.0f MiB, RSS %.0f MiB; load average %s",
		n, n*perOrg, d, sent, len(lat), q(0.5), q(0.99), lat[len(lat)-1], cpu.Seconds()*1e6/float64(len(lat)),
		metric(t, r, "go_memstats_heap_inuse_bytes")/(1<<20), metric(t, r, "process_resident_memory_bytes")/(1<<20), loadAvg())
	if out := os.Getenv("MANYORGS_PPROF_OUT"); out != "" {
		saveHeapProfile(t, r, fmt.Sprintf("%s.load%d", out, n))
	}
}

// loadWindow runs a 5 s warm-up at rate events/s and waits for its events, then a window
// of d at rate; it returns the window's latencies (sorted), how many events the feeder
// sent in it and the replica's CPU time over it (taken while the CPU profile runs, if
// asked for).
func loadWindow(t *testing.T, w *world, f *proc, rate int, d time.Duration) ([]time.Duration, int, time.Duration) {
	t.Helper()
	warm, err := f.command(time.Minute, fmt.Sprintf("rate %d 5s", rate))
	if err != nil {
		t.Fatal(err)
	}
	w.stream.waitSent(t, time.Time{}, warm, 30*time.Second) // every warm-up event stored first
	r := w.reps[0]
	cpu0 := metric(t, r, "process_cpu_seconds_total")
	from := time.Now()
	profiled := profileCPU(t, r, d)
	sent, err := f.command(d+time.Minute, fmt.Sprintf("rate %d %s", rate, d))
	if err != nil {
		t.Fatal(err)
	}
	lat := w.stream.waitSent(t, from, sent, 30*time.Second)
	cpu := metric(t, r, "process_cpu_seconds_total") - cpu0
	<-profiled
	return lat, sent, time.Duration(cpu * float64(time.Second))
}

// productionTimings are the production defaults of the heart-beat and the lease TTL,
// which set how often each org's connection and lease are kept alive (the tests shorten
// them to keep failures quick).
var productionTimings = map[string]string{"RHOMBUS_HEARTBEAT": "10s", "BRIDGE_LEASE_TTL": "10s"}

// benchOnly skips a measurement unless MANYORGS_BENCH=1.
func benchOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("MANYORGS_BENCH") != "1" {
		t.Skip("set MANYORGS_BENCH=1")
	}
}

// envInt is the positive integer in the environment variable name, def when unset.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// loadAvg is the machine's load average over the last minute, "?" when unknown: the
// figures depend on what else the (shared) machine runs.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// newFedWorld is a world of n orgs whose Rhombus is a feeder process (feederMain).
func newFedWorld(t *testing.T, n int) (*world, *proc) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := startProc(t, "feeder", exe, append(os.Environ(), feederEnv+"="+strconv.Itoa(n)))
	line, err := f.line(time.Minute)
	var ws, api string
	if _, serr := fmt.Sscanf(line, "addr %s %s", &ws, &api); err != nil || serr != nil {
		t.Fatalf("feeder said %q: %v", line, err)
	}
	return newBareWorld(t, sim.OrgUUIDs(1, n), ws, api), f
}

// sentAt reads the feeder's send time ("sent:<unix ns>") from a message body.
func sentAt(b []byte) (time.Time, bool) {
	i := bytes.Index(b, []byte("sent:"))
	if i < 0 {
		return time.Time{}, false
	}
	j := i + len("sent:")
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	ns, err := strconv.ParseInt(string(b[i+len("sent:"):j]), 10, 64)
	return time.Unix(0, ns), err == nil
}

// waitSent waits up to d for the latencies of n events sent from from on, and returns
// them sorted.
func (c *collector) waitSent(t *testing.T, from time.Time, n int, d time.Duration) []time.Duration {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var got []time.Duration
		c.mu.Lock()
		for _, s := range c.sent {
			if !s.at.Before(from) {
				got = append(got, s.took)
			}
		}
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Errorf("%d of %d events stored %v after the last was sent", len(got), n, d)
			}
			if len(got) == 0 {
				t.FailNow()
			}
			slices.Sort(got)
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// profileCPU saves a CPU profile of r over d to MANYORGS_PPROF_OUT.cpu, if set; the
// channel closes when it is written.
func profileCPU(t *testing.T, r *replica, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	out := os.Getenv("MANYORGS_PPROF_OUT")
	if out == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.http, int(d.Seconds())))
		if err != nil {
			t.Errorf("cpu profile: %v", err)
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if err := os.WriteFile(out+".cpu", b.Bytes(), 0o644); err != nil {
			t.Errorf("cpu profile: %v", err)
		}
	}()
	return done
}
