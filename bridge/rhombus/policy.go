package rhombus

import (
	"errors"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
)

// budgetWindow is the period of FeedConfig.ReconnectBudget.
const budgetWindow = time.Minute

// reconnectPolicy decides how long to wait before the next connection attempt.
type reconnectPolicy struct {
	fail    backoff.Backoff // failures to connect or subscribe
	refused backoff.Backoff // refusals: ceilings from 2 × RefusedBackoff, delays in [ceiling/2, ceiling)
	budget  int
	recent  []time.Time // immediate reconnects (as scheduled) within the last budgetWindow
}

func newReconnectPolicy(cfg FeedConfig) *reconnectPolicy {
	return &reconnectPolicy{
		fail:    backoff.Backoff{Base: cfg.BackoffBase, Max: cfg.BackoffMax},
		refused: backoff.Backoff{Base: 2 * cfg.RefusedBackoff, Max: max(cfg.BackoffMax, 2*cfg.RefusedBackoff)},
		budget:  cfg.ReconnectBudget,
	}
}

// next returns the wait before the next attempt after one that ended with cause
// (accepted: the server had accepted its subscription), and whether the reconnect
// budget made it wait.
func (p *reconnectPolicy) next(accepted bool, cause error, now time.Time) (wait time.Duration, budget bool) {
	if accepted {
		p.fail.Reset()
		p.refused.Reset()
		return p.spend(now)
	}
	if refusal(cause) {
		c := p.refused.Ceiling(true)
		return c/2 + backoff.Jitter(c/2), false
	}
	return p.fail.Next(), false
}

// spend takes one immediate reconnect from the budget. Once the last budget reconnects
// all fall within budgetWindow, the next waits until the oldest leaves it, plus a jitter
// of up to one budget interval (so replicas and orgs spread out).
func (p *reconnectPolicy) spend(now time.Time) (time.Duration, bool) {
	i := 0
	for i < len(p.recent) && now.Sub(p.recent[i]) >= budgetWindow {
		i++
	}
	p.recent = p.recent[i:]
	var wait time.Duration
	if len(p.recent) >= p.budget {
		wait = p.recent[len(p.recent)-p.budget].Add(budgetWindow).Sub(now) +
			backoff.Jitter(budgetWindow/time.Duration(p.budget))
	}
	p.recent = append(p.recent, now.Add(wait))
	return wait, wait > 0
}

// refusal reports whether the server said no: a handshake answered with an HTTP error
// status, or a STOMP ERROR before the subscription was accepted (CONNECT or SUBSCRIBE).
func refusal(err error) bool {
	var he *HandshakeError
	var se *StompError
	return errors.As(err, &he) || errors.As(err, &se) && se.During != ""
}
