package rhombus

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
)

// NewCredentialBudget is the REST budget of one API key, perSecond requests a second
// (burst the same, at least 1), to be shared (ClientConfig.Credential) by the clients of
// every org that calls with that key. Rhombus limits requests per organisation and per
// credential: each org's client keeps its own budget, and together they stay within the
// credential's. A 429 still holds back only the org that received it: Rhombus's answer
// names no scope, and its request bucket is the organisation's.
func NewCredentialBudget(perSecond float64) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
}

// admit takes a token of the org's budget and of the credential's, waiting for them. A
// call marked WithoutQueueing waits at most maxQueueWait for the org's and not at all for
// the credential's (other orgs' calls never hold this org's events); otherwise it fails
// at once, taking neither.
func (c *Client) admit(ctx context.Context) error {
	if ctx.Value(noQueueKey{}) == nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return err
		}
		if c.cfg.Credential == nil {
			return nil
		}
		return c.cfg.Credential.Wait(ctx)
	}
	now := time.Now()
	own := c.limiter.ReserveN(now, 1)
	if d := own.DelayFrom(now); d > maxQueueWait { // never met: rate.InfDuration
		own.CancelAt(now)
		return fmt.Errorf("%w: the org's REST budget is spent for %s", ErrPastDeadline, d.Round(time.Millisecond))
	}
	if c.cfg.Credential != nil {
		if cred := c.cfg.Credential.ReserveN(now, 1); cred.DelayFrom(now) > 0 {
			cred.CancelAt(now)
			own.CancelAt(now)
			return fmt.Errorf("%w: the API key's REST budget is spent", ErrPastDeadline)
		}
	}
	return backoff.Sleep(ctx, own.DelayFrom(now))
}

// maxQueueWait is the longest a WithoutQueueing call waits for the org's budget.
const maxQueueWait = 250 * time.Millisecond
