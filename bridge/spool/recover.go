package spool

import (
	"fmt"
	"os"
)

// recover scans the segments left in the directory, repairs damage, and positions the
// reader at the commit point. Every repair is logged with what it did and why.
func (s *Spool) recover() error {
	l, err := listDir(s.cfg.Dir)
	if err != nil {
		return err
	}
	for _, p := range l.removedTmp {
		s.cfg.Logger.Warn("spool: leftover temporary file removed (a quarantine rewrite was cut short)", "file", p)
	}
	for _, q := range l.quarantined {
		s.addQuarantined(q)
	}
	s.nextSeq = s.cur.at
	for i, g := range l.segs {
		keep, err := s.recoverSegment(g, i == len(l.segs)-1)
		if err != nil {
			return err
		}
		s.nextSeq = max(s.nextSeq, g.end())
		if keep {
			s.segs = append(s.segs, g)
			s.bytes += g.size
		}
	}
	s.rd.seq = s.cur.at
	for _, g := range s.segs {
		if g.end() > s.rd.seq {
			s.unread += g.end() - max(g.first, s.rd.seq)
		}
	}
	s.gc()
	s.fits(0) // quarantined files beyond MaxBytes go, oldest first
	s.recovery.Segments = len(s.segs)
	s.recovery.Events = int(s.unread)
	s.updateGauges()
	s.logRecovery()
	return nil
}

// logRecovery reports what Open found, when it found anything.
func (s *Spool) logRecovery() {
	r := &s.recovery
	if r.CursorLost {
		s.m.corrupt.Inc()
		s.cfg.Logger.Error("spool: commit point unreadable, cursor quarantined; replaying every record on disk: "+
			"those delivered before it was lost are published again (duplicates, collapsed on the event id; no loss)",
			"dir", s.cfg.Dir, "quarantined_as", cursorName+corruptSuffix, "replayed_events", s.unread)
	}
	if len(s.segs) > 0 || len(r.Quarantined) > 0 || r.TruncatedBytes > 0 || r.CursorLost {
		s.cfg.Logger.Info("spool recovered", "dir", s.cfg.Dir, "segments", len(s.segs), "events", s.unread,
			"bytes", s.bytes, "truncated_bytes", r.TruncatedBytes, "quarantined", len(r.Quarantined),
			"quarantined_bytes", s.qbytes, "cursor_lost", r.CursorLost)
	}
}

// recoverSegment scans g, repairs it, and says whether it holds records to keep.
func (s *Spool) recoverSegment(g *segment, last bool) (keep bool, err error) {
	res, err := scanSegment(g.path)
	if err != nil {
		return false, err
	}
	overlap := len(s.segs) > 0 && g.first < s.segs[len(s.segs)-1].end()
	switch {
	case overlap || res.badHead && (res.size >= segHeaderLen || !last):
		if overlap {
			res.damage = fmt.Errorf("sequence %d overlaps the previous segment", g.first)
		}
		return false, s.quarantine(g, res, 0)
	case res.badHead: // the last segment, cut inside its header: a crash at creation
		s.recovery.TruncatedBytes += res.size
		s.cfg.Logger.Warn("spool: last segment cut inside its header removed (a crash while creating it; "+
			"it held no record)", "segment", g.path, "bytes", res.size)
		return false, removeFile(g.path)
	case res.damage != nil && last:
		if err := truncateFile(g.path, res.good); err != nil {
			return false, err
		}
		s.m.corrupt.Inc()
		s.recovery.TruncatedBytes += res.size - res.good
		s.cfg.Logger.Warn("spool: torn tail truncated", "segment", g.path, "records", res.count,
			"truncated_bytes", res.size-res.good, "cause", res.damage)
	case res.damage != nil:
		if err := s.quarantine(g, res, res.count); err != nil {
			return false, err
		}
	}
	g.count, g.size = res.count, res.good
	if g.count == 0 {
		s.cfg.Logger.Info("spool: segment without records removed", "segment", g.path)
		return false, removeFile(g.path)
	}
	return true, nil
}

// quarantine renames g to *.corrupt and, when keep > 0, rewrites its first keep records
// (the complete ones before the damage) to a fresh file of the original name.
func (s *Spool) quarantine(g *segment, res scanResult, keep uint64) error {
	bad, err := s.quarantineFile(g.path)
	if err != nil {
		return err
	}
	s.cfg.Logger.Error("spool: damaged segment quarantined", "segment", g.path, "quarantined_as", bad,
		"records_kept", keep, "bytes", res.size, "good_bytes", res.good, "cause", res.damage)
	if keep == 0 {
		return nil
	}
	if err := copyPrefix(bad, g.path, res.good); err != nil {
		return fmt.Errorf("spool: rewrite %s: %w", g.path, err)
	}
	return nil
}

func truncateFile(path string, n int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("spool: truncate %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(n); err != nil {
		return fmt.Errorf("spool: truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: truncate %s: %w", path, err)
	}
	return nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
