package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// PreloadStats is what one Preload read.
type PreloadStats struct {
	Since   time.Time     // records stamped at or after this (minus clock slack) were read
	Records int           // records read
	IDs     int           // ids newly remembered as written
	Took    time.Duration // from the start of Preload until Publish was let through
	Capped  bool          // PreloadMaxRecords or PreloadTimeout stopped it: older ids were not read
}

// PreloadResult is how a Preload ended.
type PreloadResult struct {
	PreloadStats
	Err error
}

// Preload makes Publish skip events whose id is already on the topic, written by another
// process (the previous leader, or this replica before a restart): it reads the ce_id
// header of every record stamped at or after since (minus 30 s of clock slack), up to
// each partition's end as it is when Preload starts, and remembers those ids as written
// (in the window bounded by DedupMaxIDs and DedupMaxAge). Call it before a new term
// writes what another process may have written already: a backfill, a spool replay.
//
// It returns at once; Publish calls wait until the scan is done. The scan reads at most
// PreloadMaxRecords records (the newest of each partition, in proportion) for at most
// PreloadTimeout; past either it logs a warning and lets Publish through with what it
// read (a duplicate is then possible). The channel receives the outcome.
func (s *Sink) Preload(ctx context.Context, since time.Time) <-chan PreloadResult {
	out := make(chan PreloadResult, 1)
	f, ok := s.enter()
	if !ok {
		out <- PreloadResult{Err: ErrClosed}
		return out
	}
	s.hold.add()
	go func() {
		defer f.done()
		defer s.hold.done()
		res := s.preload(ctx, since)
		s.logPreload(res)
		out <- res
	}()
	return out
}

func (s *Sink) preload(ctx context.Context, since time.Time) PreloadResult {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PreloadTimeout)
	defer cancel()
	res := PreloadResult{PreloadStats: PreloadStats{Since: since}}
	ranges, err := s.ranges(ctx, since.Add(-clockSlack))
	if err != nil {
		res.Err, res.Took = err, time.Since(began)
		return res
	}
	res.Capped = capRanges(ranges, s.cfg.PreloadMaxRecords)
	ids, read, err := s.readIDs(ctx, ranges)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		res.Capped, err = true, nil // PreloadTimeout: keep what was read
	}
	res.Records, res.Err = read, err
	res.IDs = s.win.remember(ids, time.Now())
	res.Took = time.Since(began)
	return res
}

func (s *Sink) logPreload(r PreloadResult) {
	args := []any{"since", r.Since.UTC().Format(time.RFC3339Nano), "records", r.Records, "ids", r.IDs,
		"took_ms", r.Took.Milliseconds()}
	switch {
	case r.Err != nil:
		s.log.Warn("kafka: could not read the ids already on the topic; a record written by another process may be repeated",
			append(args, "error", r.Err)...)
	case r.Capped:
		s.log.Warn("kafka: read only the newest ids already on the topic (bounded by record count and time); "+
			"an older record written by another process may be repeated", append(args,
			"max_records", s.cfg.PreloadMaxRecords, "timeout", s.cfg.PreloadTimeout.String())...)
	default:
		s.log.Info("kafka: ids already on the topic loaded; they are not written again", args...)
	}
}

// hold makes Publish wait while any Preload is under way.
type hold struct {
	mu sync.Mutex
	n  int
	ch chan struct{} // closed when n drops to 0
}

func (h *hold) add() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		h.ch = make(chan struct{})
	}
	h.n++
}

func (h *hold) done() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n--; h.n == 0 {
		close(h.ch)
		h.ch = nil
	}
}

// wait returns once no Preload is under way, or with ctx's error.
func (h *hold) wait(ctx context.Context) error {
	h.mu.Lock()
	ch := h.ch
	h.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the ids already on the topic: %w", ctx.Err())
	}
}
