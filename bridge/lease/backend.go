package lease

import (
	"context"
	"errors"
	"time"
)

// ErrLost reports that the store holds the lease for someone else (or for nobody): the
// term is over.
var ErrLost = errors.New("lease lost")

// ErrLapsed is the cause of a leader context cancelled because the local monotonic clock
// says the lease may have lapsed.
var ErrLapsed = errors.New("lease may have lapsed (local clock)")

// ErrStepDown is the cause of a leader context cancelled because onLeading returned.
var ErrStepDown = errors.New("leader stepped down")

// Term is one tenure of the lease as the backend acquired it.
type Term struct {
	Token uint64    // fencing token: strictly increasing across terms
	Since time.Time // when the successful acquire request was sent (monotonic)
}

// Backend is one lease store. Run calls its methods from one goroutine at a time, except
// Holder, which may be called concurrently.
type Backend interface {
	// Prepare sets the store up for a lease of ttl held under the name instance.
	Prepare(ctx context.Context, instance string, ttl time.Duration) error
	// Acquire blocks until this replica holds the lease or ctx ends.
	Acquire(ctx context.Context) (Term, error)
	// Renew extends the lease held since the last Acquire; an error means it may be lost.
	Renew(ctx context.Context) error
	// Release gives the lease up if this replica still holds it; it never touches a
	// successor's lease.
	Release(ctx context.Context) error
	// Close leaves the store (Run calls it once on the way out).
	Close(ctx context.Context) error
	// Holder is the last known holder's instance name ("" if unknown or none).
	Holder() string
}

// renewIntervaler lets a backend choose its renewal cadence (default TTL/3).
type renewIntervaler interface {
	renewInterval(ttl time.Duration) time.Duration
}
