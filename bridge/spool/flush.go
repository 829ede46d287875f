package spool

import (
	"errors"
	"os"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// flusher runs until Close: every Sync.Interval it fsyncs what was written (per the
// policy), drops expired records at the head of the spool, and deletes a consumed tail
// that saw no append for a tick.
func (s *Spool) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Sync.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.flush()
			s.reportExpired(s.expireHead(now))
			s.dropIdleTail()
		}
	}
}

// flush fsyncs the tail, the directory and the cursor if they were written. The fsyncs
// run without the lock, so appends go on meanwhile (os.File is safe for that; a tail
// closed meanwhile was synced by closeTail).
func (s *Spool) flush() {
	if s.cfg.Sync.Mode == SyncNone {
		return
	}
	s.mu.Lock()
	var tail *os.File
	if s.dirty && s.cfg.Sync.Mode == SyncInterval {
		tail = s.w
	}
	dir, cur := s.dirDirty, s.curDirty
	s.dirty, s.dirDirty, s.curDirty = false, false, false
	s.mu.Unlock()
	if tail != nil {
		if err := tail.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			s.cfg.Logger.Error("spool: segment fsync failed", "error", err)
			s.mu.Lock()
			s.dirty = s.dirty || s.w == tail
			s.mu.Unlock()
		}
	}
	if dir {
		if err := syncDir(s.cfg.Dir); err != nil {
			s.cfg.Logger.Warn("spool: directory fsync failed", "dir", s.cfg.Dir, "error", err)
		}
	}
	if cur {
		if err := s.cur.f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			s.cfg.Logger.Warn("spool: cursor fsync failed", "error", err)
		}
	}
}

// expireHead drops the expired records at the head of the spool, not yet handed out, so
// that they free their space even while nobody reads.
func (s *Spool) expireHead(now time.Time) []event.Event {
	if s.cfg.MaxAge <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var expired []event.Event
	for len(expired) < maxExpiredBatch && s.peek() && s.expired(s.rd.peeked, now) {
		_, ev := s.take()
		expired = append(expired, ev)
	}
	if len(expired) > 0 {
		s.committed()
	}
	return expired
}
