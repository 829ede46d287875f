package rhombus

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

func newTestClient(t testing.TB, url string, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{APIURL: url, APIKey: testKey, Rate: 1000, RetryBase: 10 * time.Millisecond,
		RetryMax: 50 * time.Millisecond, Logger: quietLogger(), Registerer: prometheus.NewRegistry()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestOrgUUIDAndAuthHeaders(t *testing.T) {
	s := startSim(t, sim.Config{})
	org, err := newTestClient(t, s.URL(), nil).OrgUUID(ctxT(t, 10*time.Second))
	if err != nil || org != s.OrgUUID() {
		t.Fatalf("OrgUUID = %q, %v; want %q", org, err, s.OrgUUID())
	}
	_, err = newTestClient(t, s.URL(), func(c *ClientConfig) { c.APIKey = "wrong" }).OrgUUID(ctxT(t, 10*time.Second))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("wrong key: %v; want *HTTPError 401", err)
	}
	if n := len(s.CallsTo("/api/org/getOrgV2")); n != 2 {
		t.Fatalf("%d calls; the 401 must not be retried", n)
	}
}

// After a 429 with Retry-After no call, the retry nor any other goroutine's, reaches the
// server before it elapsed.
func TestRetryAfterNeverEarly(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newTestClient(t, s.URL(), nil)
	s.REST429(1, time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	call := func() {
		defer wg.Done()
		_, err := c.OrgUUID(ctxT(t, 20*time.Second))
		errs <- err
	}
	wg.Add(1)
	go call()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		held := !c.notBefore.IsZero()
		c.mu.Unlock()
		if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("429 never seen")
		}
	}
	for i := 0; i < 3; i++ { // calls that start while the Retry-After is in force
		wg.Add(1)
		go call()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := s.CallsTo("/api/org/getOrgV2")
	if len(calls) != 5 || calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("calls %+v; want a 429 then 4 successes", calls)
	}
	for _, call := range calls[1:] {
		if gap := call.Time.Sub(calls[0].Time); gap < time.Second {
			t.Fatalf("a call reached the server %s after the 429 (Retry-After: 1)", gap)
		}
	}
	if got := counterValue(t, c.reqs.WithLabelValues("/api/org/getOrgV2", "429")); got != 1 {
		t.Fatalf("requests_total{code=429} = %v", got)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if d, ok := retryAfter("7", now); !ok || d != 7*time.Second {
		t.Fatal(d, ok)
	}
	date := now.Add(3 * time.Second).Format(http.TimeFormat)
	if d, ok := retryAfter(date, now); !ok || d < 3*time.Second {
		t.Fatalf("HTTP date: %v %v", d, ok)
	}
	if _, ok := retryAfter("soon", now); ok {
		t.Fatal("garbage accepted")
	}
}

func TestServerErrorsRetriedClientErrorsNot(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newTestClient(t, s.URL(), nil)
	s.REST5xx(3)
	if _, err := c.OrgUUID(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("after 3 × 503: %v", err)
	}
	if n := len(s.CallsTo("/api/org/getOrgV2")); n != 4 {
		t.Fatalf("%d calls, want 4", n)
	}
	_, err := c.PolicyAlertDetails(ctxT(t, 10*time.Second), "") // the simulator answers 400
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("got %v; want *HTTPError 400", err)
	}
	if n := len(s.CallsTo("/api/event/getPolicyAlertDetails")); n != 1 {
		t.Fatalf("400 retried: %d calls", n)
	}
	// A 5xx that never ends: bounded attempts, typed error.
	s.REST5xx(-1)
	_, err = newTestClient(t, s.URL(), func(c *ClientConfig) { c.MaxAttempts = 3 }).OrgUUID(ctxT(t, 10*time.Second))
	if !errors.As(err, &he) || he.Status != 503 {
		t.Fatalf("got %v; want *HTTPError 503", err)
	}
	s.ClearFaults()
	// Cancelled while backing off: returns at once.
	s.REST5xx(-1)
	slow := newTestClient(t, s.URL(), func(c *ClientConfig) { c.RetryBase, c.RetryMax = time.Hour, time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := slow.OrgUUID(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled call: %v after %s", err, time.Since(start))
	}
}

func TestRateLimit(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newTestClient(t, s.URL(), func(c *ClientConfig) { c.Rate, c.Burst = 20, 1 })
	for i := 0; i < 6; i++ {
		if _, err := c.OrgUUID(ctxT(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	calls := s.CallsTo("/api/org/getOrgV2")
	// 20/s with burst 1: 6 calls span at least 5 × 50 ms (minus timer slop).
	if span := calls[len(calls)-1].Time.Sub(calls[0].Time); span < 200*time.Millisecond {
		t.Fatalf("6 calls in %s: rate limit not applied", span)
	}
}
