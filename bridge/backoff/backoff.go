// Package backoff is exponential backoff with full jitter and a cap, and a sleep that ends
// the moment its context does. Every retry loop in rhombus-bridge waits through it, so no
// wait ignores shutdown.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields delays drawn uniformly from [0, min(Max, Base·2^n)) for the n-th call
// since the last Reset ("full jitter"). The zero value uses Base 100ms and Max 30s.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
	n    int
}

// Next returns the next delay and advances.
func (b *Backoff) Next() time.Duration {
	return Jitter(b.Ceiling(true))
}

// Ceiling returns the current upper bound of the delay; advance moves to the next step.
func (b *Backoff) Ceiling(advance bool) time.Duration {
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	if limit <= 0 {
		limit = 30 * time.Second
	}
	d := limit
	if b.n < 62 && base<<b.n > 0 && base<<b.n < limit {
		d = base << b.n
	}
	if advance {
		b.n++
	}
	return d
}

// Reset starts over from Base (after a healthy period).
func (b *Backoff) Reset() { b.n = 0 }

// Attempts is the number of delays handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.n }

// Jitter returns a delay drawn uniformly from [0, d).
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// Sleep waits d or until ctx ends, whichever is first, and returns ctx.Err() in the
// latter case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
