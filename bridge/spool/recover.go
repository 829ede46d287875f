package spool

import (
	"fmt"
	"os"
)

// recover scans the segments left in the directory, repairs damage, and positions the
// reader at the commit point.
func (s *Spool) recover() error {
	segs, err := listSegments(s.cfg.Dir)
	if err != nil {
		return err
	}
	s.nextSeq = s.cur.at
	for i, g := range segs {
		keep, err := s.recoverSegment(g, i == len(segs)-1)
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
	s.recovery.Segments = len(s.segs)
	s.recovery.Events = int(s.unread)
	s.updateGauges()
	if len(s.segs) > 0 || len(s.recovery.Quarantined) > 0 || s.recovery.TruncatedBytes > 0 {
		s.cfg.Logger.Info("spool recovered", "dir", s.cfg.Dir, "segments", len(s.segs), "events", s.unread,
			"bytes", s.bytes, "truncated_bytes", s.recovery.TruncatedBytes, "quarantined", len(s.recovery.Quarantined))
	}
	return nil
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
		return false, removeFile(g.path)
	}
	return true, nil
}

// quarantine renames g to *.corrupt and, when keep > 0, rewrites its first keep records
// (the complete ones before the damage) to a fresh file of the original name.
func (s *Spool) quarantine(g *segment, res scanResult, keep uint64) error {
	bad := g.path + corruptSuffix
	if err := os.Rename(g.path, bad); err != nil {
		return fmt.Errorf("spool: quarantine %s: %w", g.path, err)
	}
	s.m.corrupt.Inc()
	s.recovery.Quarantined = append(s.recovery.Quarantined, bad)
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
