package manyorgs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleOrgMemory measures what one idle org costs a replica (MANYORGS_BENCH=1): one
// replica with few orgs, then with MANYORGS_BENCH_N more (default 500), all subscribed
// and idle; the difference in Go heap in use and in resident memory, per org.
func TestIdleOrgMemory(t *testing.T) {
	benchOnly(t)
	extra := envInt("MANYORGS_BENCH_N", 500)
	const base = 10
	h0, r0 := idleMemory(t, base)
	h1, r1 := idleMemory(t, base+extra)
	t.Logf("idle orgs %d → %d: heap in use %.1f → %.1f MiB, RSS %.1f → %.1f MiB; per idle org: heap %.0f KiB, RSS %.0f KiB",
		base, base+extra, h0/(1<<20), h1/(1<<20), r0/(1<<20), r1/(1<<20), (h1-h0)/float64(extra)/1024, (r1-r0)/float64(extra)/1024)
}

func idleMemory(t *testing.T, n int) (heap, rss float64) {
	var out [2]float64
	t.Run(fmt.Sprintf("orgs=%d", n), func(t *testing.T) {
		w := newWorld(t, n)
		w.startReplicas(1)
		waitFor(t, "every org subscribed", 120*time.Second, w.balanced(w.reps, n))
		time.Sleep(5 * time.Second) // idle
		if out := os.Getenv("MANYORGS_PPROF_OUT"); out != "" {
			saveHeapProfile(t, w.reps[0], fmt.Sprintf("%s.%d", out, n))
		}
		out[0], out[1] = metric(t, w.reps[0], "go_memstats_heap_inuse_bytes"), metric(t, w.reps[0], "process_resident_memory_bytes")
	})
	return out[0], out[1]
}

func metric(t *testing.T, r *replica, name string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}

// saveHeapProfile writes the replica's heap profile to path (MANYORGS_PPROF_OUT).
func saveHeapProfile(t *testing.T, r *replica, path string) {
	resp, err := http.Get("http://" + r.http + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
