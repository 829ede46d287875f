package spool

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// maxExpiredBatch bounds the expired records collected under the lock at once.
const maxExpiredBatch = 1024

// Next returns the oldest record not yet handed out, blocking until one exists or ctx
// ends. Records past MaxAge are skipped and reported to OnExpired. Acknowledge delivered
// records with Commit.
func (s *Spool) Next(ctx context.Context) (event.Event, error) {
	_, ev, err := s.NextSeq(ctx)
	return ev, err
}

// NextSeq is Next that also returns the record's sequence number, for Ack.
func (s *Spool) NextSeq(ctx context.Context) (uint64, event.Event, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return 0, event.Event{}, ErrClosed
		}
		seq, ev, ok, expired := s.nextLocked(time.Now())
		wake := s.wake
		if !ok && len(expired) == 0 {
			s.waiters++
		}
		s.mu.Unlock()
		s.reportExpired(expired)
		if ok {
			return seq, ev, nil
		}
		if len(expired) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		}
		s.mu.Lock()
		s.waiters--
		s.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return 0, event.Event{}, fmt.Errorf("spool: next: %w", err)
		}
	}
}

// TryNextSeq is NextSeq that does not wait: ok is false when no record is waiting.
func (s *Spool) TryNextSeq() (seq uint64, ev event.Event, ok bool, err error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return 0, event.Event{}, false, ErrClosed
		}
		seq, ev, ok, expired := s.nextLocked(time.Now())
		s.mu.Unlock()
		s.reportExpired(expired)
		if ok || len(expired) == 0 {
			return seq, ev, ok, nil
		}
	}
}

// nextLocked hands out the next record that is not expired, collecting the expired ones
// on the way (at most maxExpiredBatch, then it returns !ok to let them be reported).
func (s *Spool) nextLocked(now time.Time) (seq uint64, ev event.Event, ok bool, expired []event.Event) {
	defer s.updateGauges()
	for s.peek() {
		if !s.expired(s.rd.peeked, now) {
			seq, ev = s.take()
			s.pending = append(s.pending, pend{seq: seq})
			s.unacked++
			if len(expired) > 0 {
				s.committed()
			}
			return seq, ev, true, expired
		}
		_, old := s.take()
		expired = append(expired, old)
		if len(expired) == maxExpiredBatch {
			break
		}
	}
	if len(expired) > 0 {
		s.committed()
	}
	return 0, event.Event{}, false, expired
}

func (s *Spool) expired(ev *event.Event, now time.Time) bool {
	return s.cfg.MaxAge > 0 && !ev.Received.IsZero() && now.Sub(ev.Received) > s.cfg.MaxAge
}

// reportExpired counts and reports records dropped for age; s.mu is not held.
func (s *Spool) reportExpired(evs []event.Event) {
	if len(evs) == 0 {
		return
	}
	s.m.expired.Add(float64(len(evs)))
	s.cfg.Logger.Warn("spool: events dropped for age", "events", len(evs), "max_age", s.cfg.MaxAge,
		"first_event_id", evs[0].ID)
	if s.cfg.OnExpired != nil {
		for _, ev := range evs {
			s.cfg.OnExpired(ev)
		}
	}
}

// Commit acknowledges the n oldest records handed out and not yet acknowledged: they
// leave the spool for good. It fits a consumer that delivers in order; see Ack otherwise.
// Asking for more than are outstanding acknowledges those and returns ErrUnknown.
func (s *Spool) Commit(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	done := 0
	for i := s.phead; i < len(s.pending) && done < n; i++ {
		if !s.pending[i].acked {
			s.pending[i].acked = true
			done++
		}
	}
	s.unacked -= done
	s.committed()
	if done < n {
		return fmt.Errorf("%w: commit %d, %d outstanding", ErrUnknown, n, done)
	}
	return nil
}

// Ack acknowledges the record seq handed out by NextSeq, in any order. The commit point
// advances over every acknowledged record below the oldest unacknowledged one.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	live := s.pending[s.phead:]
	i := sort.Search(len(live), func(i int) bool { return live[i].seq >= seq })
	if i == len(live) || live[i].seq != seq || live[i].acked {
		return fmt.Errorf("%w: %d", ErrUnknown, seq)
	}
	live[i].acked = true
	s.unacked--
	s.committed()
	return nil
}

// committed drops acknowledged records from the front of pending, records the commit
// point and deletes the segments wholly below it; s.mu is held.
func (s *Spool) committed() {
	for s.phead < len(s.pending) && s.pending[s.phead].acked {
		s.phead++
	}
	if s.phead == len(s.pending) {
		s.pending, s.phead = s.pending[:0], 0
	} else if s.phead > 1024 && s.phead > len(s.pending)/2 {
		s.pending = append(s.pending[:0], s.pending[s.phead:]...)
		s.phead = 0
	}
	if err := s.cur.write(s.lowWater()); err != nil {
		s.cfg.Logger.Warn("spool: cursor write failed (records may be replayed)", "error", err)
	} else {
		s.curDirty = true
	}
	s.gc()
	s.updateGauges()
}

// lowWater is the commit point: every record below it is acknowledged or expired.
func (s *Spool) lowWater() uint64 {
	if s.phead < len(s.pending) {
		return s.pending[s.phead].seq
	}
	return s.rd.seq
}

// gc deletes the segments wholly below the commit point. The tail being appended to is
// left to dropIdleTail, so that a spool drained as fast as it fills does not create and
// delete a file per event.
func (s *Spool) gc() {
	low := s.lowWater()
	for len(s.segs) > 0 && s.segs[0].end() <= low {
		if len(s.segs) == 1 && s.w != nil {
			return
		}
		s.deleteHead()
	}
}

// deleteHead deletes the oldest segment.
func (s *Spool) deleteHead() {
	g := s.segs[0]
	if len(s.segs) == 1 {
		s.closeTail(false) // wholly consumed: no need to sync
	}
	if s.rd.seg == g {
		s.rd.close()
	}
	if err := removeFile(g.path); err != nil {
		s.cfg.Logger.Error("spool: delete consumed segment", "segment", g.path, "error", err)
	}
	s.bytes -= g.size
	s.segs = s.segs[1:]
	s.updateGauges()
}

// dropIdleTail deletes the tail once it is wholly consumed and nothing was appended since
// the previous tick; called by the flusher.
func (s *Spool) dropIdleTail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := s.appended
	s.appended = false
	if busy || s.closed || len(s.segs) != 1 || s.segs[0].end() > s.lowWater() {
		return
	}
	s.deleteHead()
}

// Rewind makes every record handed out and not yet acknowledged available to Next again,
// from the commit point on, as a restart would (records acknowledged out of order after
// the commit point come again too: duplicates). Use it when a consumer that held records
// stops without delivering them, e.g. the pipeline restarting within the process.
// Acknowledging a record handed out before Rewind returns ErrUnknown.
func (s *Spool) Rewind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	low, old := s.lowWater(), s.rd.seq
	for _, g := range s.segs {
		if from, to := max(g.first, low), min(g.end(), old); from < to {
			s.unread += to - from
		}
	}
	s.pending, s.phead, s.unacked = s.pending[:0], 0, 0
	s.rd.close() // the reader only moves forward: reopen at the commit point
	s.rd.seq = low
	s.updateGauges()
	s.wakeWaiters()
}
