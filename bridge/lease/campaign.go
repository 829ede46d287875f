package lease

import (
	"context"
	"errors"
	"time"
)

// ErrRefused marks a campaign error that retrying with the same settings cannot fix:
// the store refuses this lease as configured (for example a TTL outside the session
// timeouts the Kafka brokers allow). Run reports it as an ERROR, at most once per
// refusedLogEvery, and retries with a backoff from refusedRetryMin, so an operator who
// fixes the store's setting does not have to restart the bridge.
var ErrRefused = errors.New("the lease store refuses this lease")

const (
	refusedRetryMin = time.Second
	refusedRetryMax = 30 * time.Second
	refusedLogEvery = time.Minute
)

// campaign paces Run's retries after a failed Acquire.
type campaign struct {
	l          *Lease
	refusedFor time.Duration // the current backoff while refused; 0 after any other outcome
	lastLogged time.Time     // last ERROR about a refusal
	suppressed int           // refusals not logged since then
}

// failed logs err as fits its kind and waits before the next attempt.
func (c *campaign) failed(ctx context.Context, err error) {
	if !errors.Is(err, ErrRefused) {
		c.refusedFor = 0
		retry := c.l.cfg.TTL / 10
		c.l.log.Warn("lease campaign failed; retrying", "error", err, "retry_in", retry)
		sleep(ctx, retry)
		return
	}
	c.refusedFor = min(max(2*c.refusedFor, refusedRetryMin), refusedRetryMax)
	if now := time.Now(); c.lastLogged.IsZero() || now.Sub(c.lastLogged) >= refusedLogEvery {
		c.l.log.Error("lease refused by its store; this replica cannot lead until the setting is fixed",
			"error", err, "retry_in", c.refusedFor, "refusals_not_logged", c.suppressed)
		c.lastLogged, c.suppressed = now, 0
	} else {
		c.suppressed++
	}
	sleep(ctx, c.refusedFor)
}

// acquired resets the pacing once a campaign succeeded.
func (c *campaign) acquired() {
	if c.refusedFor > 0 {
		c.l.log.Info("lease no longer refused by its store")
	}
	c.refusedFor, c.lastLogged, c.suppressed = 0, time.Time{}, 0
}
