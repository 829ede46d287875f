package abuse

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Rhombus signs org webhooks with HMAC-SHA1
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

const (
	secret   = "abuse-test-secret"
	orgUUID  = "ORGABUSE0000000000000A"
	path     = "/webhooks/rhombus"
	maxBytes = 524288 // WEBHOOK_MAX_BYTES's default
	rssLimit = 128 << 10
)

// The bridge at production settings (embedded JetStream, default webhook limits): 500
// header-only requests declaring 512 KiB + 1 to 50 TB each get 413; with 600 stalled
// connections open (550 sending a well-formed but wrong signature and a trickle of a
// 512 KiB body: more than WEBHOOK_CONCURRENCY's 512; 50 stuck in their headers), a
// signed webhook is answered 200 within 2 s, and the process's peak resident memory
// stays under 128 MiB.
func TestWebhookUnderAttack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	s := bridgetest.StartSim(t, sim.Config{OrgUUID: orgUUID})
	opsAddr, whAddr := bridgetest.FreeAddr(t), bridgetest.FreeAddr(t)
	p := start(t, build(t), bridgetest.ProcessEnv(map[string]string{
		"RHOMBUS_API_KEY": bridgetest.APIKey, "RHOMBUS_ORG_UUID": orgUUID,
		"RHOMBUS_WS_URL": s.WSURL(), "RHOMBUS_API_URL": s.URL(), "BRIDGE_INSTANCE_ID": "abuse-1",
		"BRIDGE_DATA_DIR": t.TempDir(), "NATS_EMBEDDED_LISTEN": bridgetest.FreeAddr(t),
		"HTTP_ADDR": opsAddr, "WEBHOOK_ADDR": whAddr, "WEBHOOK_SECRET": secret, "LOG_FORMAT": "json",
	}))
	ops := "http://" + opsAddr
	waitFor(t, 30*time.Second, func() bool { code, _ := get(ops + "/healthz"); return code == 200 })
	checkStartMetrics(t, ops)
	if code, _ := get(ops + "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without HTTP_PPROF: %d", code)
	}
	waitFor(t, 30*time.Second, func() bool { code, _ := post(whAddr, []byte("{}"), ""); return code == 401 })
	t.Logf("VmRSS at start: %d MiB", p.memKiB(t, "VmRSS")>>10)

	start := time.Now()
	declareHuge(t, whAddr, 500)
	t.Logf("500 header-only requests answered 413 in %v", time.Since(start).Round(time.Millisecond))
	fds := p.fds(t)
	conns := stall(t, whAddr, 600)
	// More bodies in progress than WEBHOOK_CONCURRENCY (512) before the signed request:
	// each holds its 4 KiB first buffer (their read timeout, 10 s, is far off).
	waitFor(t, 20*time.Second, func() bool { return metric(ops, "rhombus_bridge_webhook_buffered_bytes") >= 520*4096 })
	t.Logf("%d connections open, %.0f body bytes buffered", p.fds(t)-fds,
		metric(ops, "rhombus_bridge_webhook_buffered_bytes"))

	body := []byte(`{"summary":"Movement under attack","deviceUuid":"DEVABUSE","alertUuid":"ALERTABUSE1",` +
		`"activityTrigger":"MOTION","timestampMs":1700000000000,"version":"2"}`)
	start = time.Now()
	code, msg := post(whAddr, body, sign(body))
	took := time.Since(start)
	hwm := p.memKiB(t, "VmHWM")
	heap := metric(ops, "go_memstats_heap_inuse_bytes") // also what the kernel has not backed yet
	t.Logf("signed webhook under attack: %d in %v; VmHWM %d MiB, VmRSS %d MiB, Go heap in use %.0f MiB",
		code, took.Round(time.Millisecond), hwm>>10, p.memKiB(t, "VmRSS")>>10, heap/(1<<20))
	if code != 200 || took > 2*time.Second {
		t.Errorf("signed webhook: %d %q after %v, want 200 within 2s", code, msg, took)
	}
	if hwm > rssLimit || heap > rssLimit<<10 {
		t.Errorf("peak RSS %d MiB, heap in use %.0f MiB: over 128 MiB", hwm>>10, heap/(1<<20))
	}
	for _, c := range conns {
		_ = c.Close()
	}
	if _, m := get(ops + "/metrics"); !strings.Contains(m, `rhombus_bridge_webhook_requests_total{code="413"} 500`) {
		t.Errorf("want 500 requests answered 413 in /metrics")
	}
	p.stop(t)
}

// checkStartMetrics: the webhook series exist from the start, every status at 0.
func checkStartMetrics(t *testing.T, ops string) {
	t.Helper()
	_, m := get(ops + "/metrics")
	for _, want := range []string{`rhombus_bridge_webhook_requests_total{code="401"} 0`,
		`rhombus_bridge_webhook_requests_total{code="413"} 0`, `rhombus_bridge_webhook_requests_total{code="503"} 0`,
		"rhombus_bridge_webhook_signature_failures_total 0", "rhombus_bridge_webhook_events_published_total 0",
		"rhombus_bridge_webhook_duplicates_total 0", "rhombus_bridge_webhook_connections_shed_total 0",
		"rhombus_bridge_webhook_buffered_bytes 0",
		"rhombus_bridge_webhook_latency_seconds_count 0"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics at start lacks %s", want)
		}
	}
}

// declareHuge sends n header-only requests declaring 512 KiB + 1 up to 50 TB, 25 at a
// time; each must be answered 413 without its body.
func declareHuge(t *testing.T, addr string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 25 {
		wg.Go(func() {
			for i := range next {
				errs <- declareOne(addr, int64(maxBytes+1)<<(i%27))
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func declareOne(addr string, length int64) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Rhombus-Signature-Sha1: %s\r\n\r\n",
		path, length, strings.Repeat("0", 40))
	if _, err := c.Write([]byte(head)); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("declared %d: %w", length, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		return fmt.Errorf("declared %d: %d", length, resp.StatusCode)
	}
	return nil
}

// stall opens n connections that stop mid-request: 11 in 12 with a well-formed wrong
// signature, 512 KiB declared and 100 bytes sent; the others in the middle of their
// headers.
func stall(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		req := "POST " + path + " HTTP/1.1\r\nHost: x\r\nUser-Agent: slow"
		if i%12 != 11 {
			req = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Rhombus-Signature-Sha1: %s\r\n\r\n%s",
				path, maxBytes, strings.Repeat("ab", 20), strings.Repeat(" ", 100))
		}
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	return conns
}

func sign(body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

var client = &http.Client{Timeout: 10 * time.Second}

func post(addr string, body []byte, sig string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if sig != "" {
		req.Header.Set("X-Rhombus-Signature-Sha1", sig)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric is the value of an unlabelled series on ops's /metrics (-1 when absent).
func metric(ops, name string) float64 {
	_, m := get(ops + "/metrics")
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func get(url string) (int, string) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	if !poll(d, cond) {
		t.Fatalf("condition not reached in %v", d)
	}
}

// poll reports whether cond held within d.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
