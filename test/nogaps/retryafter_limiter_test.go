package nogaps

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

// TestRetryAfterHoldsCallsQueuedInRateLimiter: callers that passed the Retry-After gate
// and are waiting for the client-side rate limiter when a 429 arrives must not call
// before its Retry-After elapsed. Five calls start together with a budget of 10/s and a
// burst of 1: the first is answered 429 + Retry-After: 1 at once; the other four are
// queued in the limiter (100 to 400 ms) by then. None of them may reach the server
// within the second after the 429.
func TestRetryAfterHoldsCallsQueuedInRateLimiter(t *testing.T) {
	var mu sync.Mutex
	var at429 time.Time
	var early []time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if at429.IsZero() {
			at429 = now
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if d := now.Sub(at429); d < time.Second {
			early = append(early, d)
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	c, err := rhombus.NewClient(rhombus.ClientConfig{APIURL: srv.URL, APIKey: "k", Rate: 10, Burst: 1,
		Logger: bridgetest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Call(ctx, "/api/x", struct{}{}, nil); err != nil {
				t.Errorf("call: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(early) > 0 {
		t.Errorf("%d calls reached the server before the Retry-After (1 s) of a 429 elapsed: %v after it", len(early), early)
	}
}
