package webhook_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// rawConn is a client connection that writes a request by hand (to declare lengths it
// never sends, or to stall mid-body).
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// head writes a POST's head declaring length; a signature header (well formed, wrong
// key) is added when signed.
func (c *rawConn) head(t testing.TB, length string, signed bool) {
	t.Helper()
	h := "POST " + webhook.DefaultPath + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + "\r\n"
	if signed {
		h += webhook.HeaderSHA1 + ": " + sign1("not the secret", nil) + "\r\n"
	}
	if _, err := c.Write([]byte(h + "\r\n")); err != nil {
		t.Fatal(err)
	}
}

// status reads the answer's status code (10 s at most).
func (c *rawConn) status(t testing.TB) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// servedEnv is an env whose handler also runs behind its own Server; it returns the
// Server's webhook URL and address.
func servedEnv(t *testing.T, mod func(*webhook.Config)) (*env, string, string) {
	e := newEnv(t, mod)
	h, url, addr := served(t, e.h)
	e.h = h
	return e, url, addr
}

// served runs h behind its own Server until the test ends; it returns h, the webhook
// URL and the address.
func served(t *testing.T, h *webhook.Handler) (*webhook.Handler, string, string) {
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := serve(t, ctx, &webhook.Server{Handler: h, DrainTimeout: time.Second, Logger: quiet()})
	t.Cleanup(func() { cancel(); <-done })
	return h, "http://" + addr + webhook.DefaultPath, addr
}

// Header-only requests declaring lengths up to 50 TB are refused with 413 before a byte
// of body is read, and 500 held open declaring the largest length allowed cost a few
// KiB each, not their declared length (before this, 500 × 512 KiB = 256 MiB).
func TestDeclaredLengthsAreNotAllocated(t *testing.T) {
	// Production limits, but a read timeout of a minute (production: 10 s) so that the
	// held requests outlive the measurement however loaded the machine is.
	e, url, addr := servedEnv(t, func(c *webhook.Config) { c.ReadTimeout = time.Minute })
	before := totalAlloc()
	for i := range 250 {
		c := dial(t, addr)
		c.head(t, fmt.Sprint(int64(webhook.DefaultMaxBytes+1)<<(i%27)), true) // 512 KiB+1 … 50 TB
		if code := c.status(t); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("declared %d: %d", int64(webhook.DefaultMaxBytes+1)<<(i%27), code)
		}
		_ = c.Close()
	}
	held := make([]*rawConn, 500)
	for i := range held {
		held[i] = dial(t, addr)
		held[i].head(t, fmt.Sprint(webhook.DefaultMaxBytes), true)
	}
	waitFor(t, func() bool { return e.h.BodyBytes() == 500*4096 }) // every one is reading its body
	grew := totalAlloc() - before
	t.Logf("750 header-only requests allocated %.1f MiB", float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Fatalf("750 header-only requests allocated %d MiB", grew>>20)
	}
	body := alertBody("ALERT-AFTER-HEADERS")
	if resp, msg := post(t, url, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("signed webhook: %d %s", resp.StatusCode, msg)
	}
	for _, c := range held {
		_ = c.Close()
	}
	waitFor(t, func() bool { return e.h.BodyBytes() == 0 })
}

// Senders that trickle unsigned bodies hold no delivery slot: with every slot's worth of
// them stalled mid-body, a signed webhook is answered 200 at once (before this, 429).
func TestSlowUnsignedDoNotStarveSigned(t *testing.T) {
	e, url, addr := servedEnv(t, func(c *webhook.Config) { c.Concurrency = 4; c.ReadTimeout = time.Minute })
	for range 64 {
		c := dial(t, addr)
		c.head(t, "2000", true)
		_, _ = c.Write([]byte(`{"alertUuid":"`))
	}
	waitFor(t, func() bool { return e.h.BodyBytes() == 64*2000 })
	body := alertBody("ALERT-PAST-SLOW")
	start := time.Now()
	if resp, msg := post(t, url, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("signed webhook behind slow senders: %d %s", resp.StatusCode, msg)
	}
	if took := time.Since(start); took > 20*time.Second { // the slow ones last a minute
		t.Fatalf("signed webhook waited %v", took)
	}
}

// At the connection cap, a new connection closes the oldest that carries no verified
// request: a signed webhook gets through 16 stalled connections with a cap of 16.
func TestConnCapEvictsUnverified(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, url, addr := servedEnv(t, func(c *webhook.Config) {
		c.MaxConns, c.ReadTimeout, c.Registerer = 16, time.Minute, reg
	})
	stalled := make([]*rawConn, 16)
	for i := range stalled {
		stalled[i] = dial(t, addr)
		stalled[i].head(t, "100", true)
		waitFor(t, func() bool { return e.h.BodyBytes() == int64(i+1)*100 }) // in order of age
	}
	body := alertBody("ALERT-PAST-CAP")
	if resp, msg := post(t, url, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("signed webhook at the connection cap: %d %s", resp.StatusCode, msg)
	}
	_ = stalled[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := stalled[0].r.ReadByte(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the oldest stalled connection was not closed: %v", err)
	}
	if n := metric(t, reg, "rhombus_bridge_webhook_connections_shed_total", ""); n < 1 {
		t.Fatalf("shed %v connections", n)
	}
}

// Past the body budget a request gets 503 with Retry-After instead of memory; once the
// budget frees, the same request is accepted.
func TestBodyBudget(t *testing.T) {
	e, url, addr := servedEnv(t, func(c *webhook.Config) {
		c.MaxBytes, c.BodyBudget, c.ReadTimeout = 32<<10, 64<<10, time.Minute
	})
	stalled := make([]*rawConn, 16)
	for i := range stalled { // 16 × the 4 KiB first buffer = the budget
		stalled[i] = dial(t, addr)
		stalled[i].head(t, fmt.Sprint(32<<10), true)
		_, _ = stalled[i].Write([]byte(strings.Repeat(" ", 3000)))
	}
	waitFor(t, func() bool { return e.h.BodyBytes() == 64<<10 })
	body := alertBody("ALERT-BUDGET")
	resp, msg := post(t, url, body, signed1(body))
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the budget: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
	}
	_ = stalled[0].Close()
	waitFor(t, func() bool { return e.h.BodyBytes() == 60<<10 })
	if resp, msg := post(t, url, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("budget freed: %d %s", resp.StatusCode, msg)
	}
}
