package rhombus

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
)

// ErrPastDeadline is wrapped when a call cannot be made before the caller's deadline
// (a Retry-After in force, or a retry delay, outlasts it): the caller learns at once
// instead of sleeping until its deadline (enrichment never holds an event for nothing).
// It wraps context.DeadlineExceeded.
var ErrPastDeadline = fmt.Errorf("cannot call before the deadline: %w", context.DeadlineExceeded)

// wait blocks until any Retry-After has elapsed and the rate limiter admits a call. A
// Retry-After that arrives while the call waits for the limiter is waited out too. A call
// without priority first lets the priority calls go.
func (c *Client) wait(ctx context.Context) error {
	for {
		if !hasPriority(ctx) {
			if err := c.prio.yield(ctx); err != nil {
				return err
			}
		}
		d := c.heldFor()
		if d > 0 && ctx.Value(noQueueKey{}) != nil {
			return fmt.Errorf("%w: Retry-After holds calls for %s", ErrPastDeadline, d.Round(time.Millisecond))
		}
		if err := sleepWithin(ctx, d); err != nil {
			return err
		}
		if err := c.admit(ctx); err != nil {
			return err
		}
		if c.heldFor() <= 0 {
			return nil
		}
	}
}

type noQueueKey struct{}

// WithoutQueueing marks ctx so that its calls never wait: not for a Retry-After in
// force, not behind the client-side rate limit (beyond maxQueueWait). They fail at once
// instead. Enrichment uses it, so that a 429 storm or a busy budget (a backfill paging)
// never holds live events.
func WithoutQueueing(ctx context.Context) context.Context {
	return context.WithValue(ctx, noQueueKey{}, true)
}

// heldFor is how long a Retry-After still holds every call.
func (c *Client) heldFor() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Until(c.notBefore)
}

// sleepWithin sleeps d, or fails at once when ctx's deadline comes first.
func sleepWithin(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if pastDeadline(ctx, d) {
		return fmt.Errorf("%w: Retry-After holds calls for %s", ErrPastDeadline, d.Round(time.Millisecond))
	}
	return backoff.Sleep(ctx, d)
}

// pastDeadline reports whether waiting d would outlast ctx's deadline.
func pastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// holdUntil stops every call until t.
func (c *Client) holdUntil(t time.Time) {
	c.mu.Lock()
	if t.After(c.notBefore) {
		c.notBefore = t
	}
	c.mu.Unlock()
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(secs, 0), 24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		// An HTTP date has whole seconds: round up so we never call early.
		return min(max(t.Sub(now)+time.Second, 0), 24*time.Hour), true
	}
	return 0, false
}
