package recovery

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// backfillPublishers is how many of a page's alerts are delivered at once (each waits for
// its acknowledgement); alerts of one partition key keep their time order.
const backfillPublishers = 64

// publishAll delivers a page's alerts stamped with the term's fence, oldest first per
// partition key, and returns the timestamps of those this process had not delivered
// before. It fails if any alert could not be delivered; the page is then asked again.
func (r *Recovery) publishAll(ctx context.Context, evs []event.Event) ([]int64, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b event.Event) int { return cmp.Compare(a.TimestampMs, b.TimestampMs) })
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	seed := maphash.MakeSeed()
	lanes := make([][]event.Event, min(backfillPublishers, len(evs)))
	for _, ev := range evs {
		i := maphash.String(seed, ev.Key()) % uint64(len(lanes))
		lanes[i] = append(lanes[i], ev)
	}
	var mu sync.Mutex
	var published []int64
	var wg sync.WaitGroup
	for _, lane := range lanes {
		wg.Go(func() {
			for _, ev := range lane {
				ev.Fence = r.cfg.Fence
				dup, err := r.pub.PublishDup(ctx, ev)
				if err != nil {
					cancel(err)
					return
				}
				if !dup {
					mu.Lock()
					published = append(published, ev.TimestampMs)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("backfill publish: %w", err)
	}
	r.cfg.Metrics.recovered(len(published))
	return published, nil
}

// ahead is a page asked for while the previous one is published.
type ahead struct {
	q    pageQuery
	done chan struct{}
	recs []event.Event
	err  error
}

func (r *Recovery) ask(ctx context.Context, q pageQuery) *ahead {
	a := &ahead{q: q, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.recs, a.err = r.cfg.Source(ctx, q.after, q.before, q.lastTs, q.lastUUID)
	}()
	return a
}

// wait waits for the call to end (nil: none).
func (a *ahead) wait() {
	if a != nil {
		<-a.done
	}
}

// fetch returns the page for q: the one asked ahead if it was for q, else asked now.
func (r *Recovery) fetch(ctx context.Context, q pageQuery, a *ahead) ([]event.Event, error) {
	if a != nil {
		a.wait()
		if a.q == q {
			return a.recs, a.err
		}
	}
	return r.cfg.Source(ctx, q.after, q.before, q.lastTs, q.lastUUID)
}
