package spool

import (
	"bufio"
	"fmt"
	"os"
	"sort"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// reader reads records in sequence order for Next; all of it is guarded by Spool.mu.
type reader struct {
	seq    uint64   // sequence number of the next record to hand out
	seg    *segment // the segment open for reading, nil when none
	f      *os.File // its file
	br     *bufio.Reader
	pos    uint64       // sequence number of the record at br's position
	peeked *event.Event // the record seq, read ahead and not yet handed out
	buf    []byte
}

func (r *reader) close() {
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.seg, r.peeked = nil, nil, nil
}

// peek reads the record at rd.seq into rd.peeked, skipping damaged segments. It reports
// false when there is no record left to hand out.
func (s *Spool) peek() bool {
	for s.rd.peeked == nil {
		if s.unread == 0 {
			return false
		}
		if err := s.readNext(); err != nil {
			s.skipDamaged(err)
		}
	}
	return true
}

// take hands out the peeked record.
func (s *Spool) take() (uint64, event.Event) {
	seq, ev := s.rd.seq, *s.rd.peeked
	s.rd.peeked = nil
	s.rd.seq++
	s.unread--
	return seq, ev
}

// readNext reads the record at rd.seq into rd.peeked: from the hot tail when it is there,
// else from its segment.
func (s *Spool) readNext() error {
	r := &s.rd
	if ev, ok := s.hot.take(r.seq); ok {
		r.peeked = &ev
		return nil
	}
	if err := s.position(); err != nil {
		return err
	}
	payload, buf, _, err := readFrame(r.br, r.buf)
	r.buf = buf
	if err != nil {
		return fmt.Errorf("read record %d of %s: %w", r.seq, r.seg.path, err)
	}
	ev, err := decodePayload(payload)
	if err != nil {
		return fmt.Errorf("decode record %d of %s: %w", r.seq, r.seg.path, err)
	}
	r.pos++
	r.peeked = &ev
	return nil
}

// position opens the segment holding rd.seq (moving rd.seq over a hole between segments)
// and skips to the record.
func (s *Spool) position() error {
	r := &s.rd
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end() > r.seq })
	if i == len(s.segs) {
		return fmt.Errorf("no segment holds record %d", r.seq) // unread is out of step: cannot happen
	}
	g := s.segs[i]
	r.seq = max(r.seq, g.first)
	if g != r.seg {
		r.close()
		f, err := os.Open(g.path)
		if err != nil {
			r.seg = g
			return fmt.Errorf("open %s: %w", g.path, err)
		}
		r.seg, r.f, r.pos = g, f, g.first
		if r.br == nil {
			r.br = bufio.NewReaderSize(f, 64<<10)
		}
		r.br.Reset(f)
		if _, err := r.br.Discard(segHeaderLen); err != nil {
			return fmt.Errorf("read header of %s: %w", g.path, err)
		}
	}
	for r.pos < r.seq {
		_, buf, _, err := readFrame(r.br, r.buf)
		r.buf = buf
		if err != nil {
			return fmt.Errorf("skip to record %d of %s: %w", r.seq, g.path, err)
		}
		r.pos++
	}
	return nil
}

// skipDamaged gives up on the rest of the segment being read: its records are lost,
// logged and counted. A damaged tail stops taking appends.
func (s *Spool) skipDamaged(cause error) {
	r := &s.rd
	g := r.seg
	if g == nil {
		i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end() > r.seq })
		g = s.segs[i] // unread > 0, so it exists
	}
	lost := g.end() - max(r.seq, g.first)
	s.cfg.Logger.Error("spool: damaged segment, records lost", "segment", g.path, "records_lost", lost,
		"error", cause)
	s.m.corrupt.Inc()
	s.unread -= lost
	r.seq = g.end()
	r.close()
	if s.w != nil && g == s.segs[len(s.segs)-1] {
		s.closeTail(true)
	}
}
