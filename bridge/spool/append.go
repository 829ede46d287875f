package spool

import (
	"fmt"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Append adds ev at the end of the spool. It returns once the record is written, and
// synced under SyncAlways. It returns ErrFull when the record would take the spool past
// MaxBytes, ErrTooLarge for a record over MaxRecordBytes, ErrClosed after Close.
// Refusals are logged at most every 10 s (see refusals).
func (s *Spool) Append(ev event.Event) error {
	_, err := s.AppendAll([]event.Event{ev})
	return err
}

// AppendAll adds evs at the end of the spool, in order, with one write (and one fsync
// under SyncAlways) for the records that go to the same segment: a burst read from the
// socket at once costs one write(2), not one per event. It returns how many it appended,
// once they are written; when that is fewer than len(evs), err says why evs[n] was
// refused (as Append's) and the ones after it were not tried.
func (s *Spool) AppendAll(evs []event.Event) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	n := 0
	var err error
	for n < len(evs) && err == nil {
		var k int
		k, err = s.appendRun(evs[n:])
		n += k
	}
	s.noteAppend(err, time.Now())
	return n, err
}

// appendRun writes the longest run at the head of evs that fits the tail segment and
// the spool, in one write, and returns its length; an error when evs[0] was refused.
// s.mu is held.
func (s *Spool) appendRun(evs []event.Event) (int, error) {
	tail, err := s.tailFor(&evs[0])
	if err != nil {
		return 0, err
	}
	k := 1
	for ; k < len(evs); k++ {
		mark := len(s.buf)
		s.buf = appendFrame(s.buf, &evs[k])
		n := int64(len(s.buf))
		if n-int64(mark)-frameHeader > MaxRecordBytes || tail.size+n > s.cfg.SegmentBytes || !s.fits(n) {
			s.buf = s.buf[:mark] // the next run takes it (or says why not)
			break
		}
	}
	if err := s.write(tail, evs[:k]); err != nil {
		return 0, err
	}
	s.wakeWaiters()
	s.updateGauges()
	return k, nil
}

// tailFor frames ev into s.buf and returns the segment it goes to, started if the tail
// is full; an error when ev is refused. s.mu is held.
func (s *Spool) tailFor(ev *event.Event) (*segment, error) {
	s.buf = appendFrame(s.buf[:0], ev)
	n := int64(len(s.buf))
	if n-frameHeader > MaxRecordBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	var tail *segment
	if s.w != nil {
		tail = s.segs[len(s.segs)-1]
		if tail.count > 0 && tail.size+n > s.cfg.SegmentBytes {
			tail = nil // rotate
		}
	}
	need := n
	if tail == nil {
		need += segHeaderLen
	}
	if !s.fits(need) {
		s.m.full.Inc()
		return nil, fmt.Errorf("%w: %d of %d bytes used (%d quarantined), record of %d", ErrFull, s.bytes+s.qbytes,
			s.cfg.MaxBytes, s.qbytes, n)
	}
	if tail == nil {
		return s.startSegment()
	}
	return tail, nil
}

// write appends s.buf, the records of evs, to the tail segment.
func (s *Spool) write(tail *segment, evs []event.Event) error {
	n := int64(len(s.buf))
	if _, err := s.w.Write(s.buf); err != nil {
		// Cut a partial write off; either way the next append starts a new segment, and
		// the reader never looks past tail.count.
		_ = s.w.Truncate(tail.size)
		s.closeTail(true)
		if tail.count == 0 { // a fresh segment holding nothing: drop it, its name is reused
			_ = removeFile(tail.path)
			s.bytes -= tail.size
			s.segs = s.segs[:len(s.segs)-1]
		}
		return fmt.Errorf("spool: append: %w", err)
	}
	tail.size += n
	tail.count += uint64(len(evs))
	s.bytes += n
	for i := range evs {
		s.hot.add(s.nextSeq, &evs[i])
		s.nextSeq++
	}
	s.unread += uint64(len(evs))
	s.appended = true
	if s.cfg.Sync.Mode != SyncAlways {
		s.dirty = true
		return nil
	}
	if err := s.w.Sync(); err != nil {
		// The record is written but maybe not durable: keep it, say so.
		s.dirty = true
		return fmt.Errorf("spool: append: fsync: %w", err)
	}
	return nil
}

// startSegment closes the tail, if any, and starts a new one at nextSeq.
func (s *Spool) startSegment() (*segment, error) {
	s.closeTail(true)
	f, g, err := createSegment(s.cfg.Dir, s.nextSeq)
	if err != nil {
		return nil, err
	}
	s.w = f
	s.segs = append(s.segs, g)
	s.bytes += g.size
	s.gc() // the old tail may be wholly consumed
	switch s.cfg.Sync.Mode {
	case SyncAlways:
		if err := syncDir(s.cfg.Dir); err != nil {
			s.cfg.Logger.Warn("spool: directory fsync failed", "dir", s.cfg.Dir, "error", err)
		}
	case SyncInterval:
		s.dirDirty = true
	}
	return g, nil
}

// closeTail closes the tail writer, synced first (unless SyncNone) when sync is set; the
// tail stays a segment. It always syncs rather than trusting s.dirty, which the flusher
// clears before its own fsync completes.
func (s *Spool) closeTail(sync bool) {
	if s.w == nil {
		return
	}
	if sync && s.cfg.Sync.Mode != SyncNone {
		if err := s.w.Sync(); err != nil {
			s.cfg.Logger.Error("spool: segment fsync failed", "error", err)
		}
	}
	if err := s.w.Close(); err != nil {
		s.cfg.Logger.Error("spool: segment close failed", "error", err)
	}
	s.w = nil
	s.dirty = false
}

// wakeWaiters wakes blocked Next calls, if any.
func (s *Spool) wakeWaiters() {
	if s.waiters > 0 {
		close(s.wake)
		s.wake = make(chan struct{})
	}
}
