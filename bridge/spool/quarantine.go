package spool

import (
	"fmt"
	"os"
	"sort"
	"time"
)

// qfile is a quarantined file, *.corrupt: damage kept for inspection. Quarantined files
// count against MaxBytes; when they are what keeps an event out, the oldest go first.
type qfile struct {
	path string
	size int64
	mod  time.Time // when it was quarantined (set at rename)
}

func sortQuarantined(q []qfile) {
	sort.Slice(q, func(i, j int) bool {
		if !q[i].mod.Equal(q[j].mod) {
			return q[i].mod.Before(q[j].mod)
		}
		return q[i].path < q[j].path
	})
}

// quarantineFile renames path to path.corrupt, stamps it with the time of quarantine (the
// order in which quarantined files are pruned) and returns the new name; s.mu is held or
// the spool is opening. The caller logs why.
func (s *Spool) quarantineFile(path string) (string, error) {
	bad := path + corruptSuffix
	if err := os.Rename(path, bad); err != nil {
		return "", fmt.Errorf("spool: quarantine %s: %w", path, err)
	}
	now := time.Now()
	_ = os.Chtimes(bad, now, now) // only the prune order depends on it
	info, err := os.Stat(bad)
	if err != nil {
		return "", fmt.Errorf("spool: quarantine %s: %w", path, err)
	}
	s.m.corrupt.Inc()
	s.recovery.Quarantined = append(s.recovery.Quarantined, bad)
	s.addQuarantined(qfile{path: bad, size: info.Size(), mod: now})
	return bad, nil
}

// addQuarantined accounts for a quarantined file (replacing an earlier one of its name).
func (s *Spool) addQuarantined(f qfile) {
	for i, q := range s.quar {
		if q.path == f.path {
			s.qbytes -= q.size
			s.quar = append(s.quar[:i], s.quar[i+1:]...)
			break
		}
	}
	s.quar = append(s.quar, f)
	s.qbytes += f.size
	s.m.quarantined.Set(float64(s.qbytes))
}

// fits reports whether need more bytes fit under MaxBytes. When quarantined files are what
// stands in the way, it deletes them, oldest first, until the bytes fit: undelivered events
// matter more than a copy of damage already reported.
func (s *Spool) fits(need int64) bool {
	if s.bytes+need > s.cfg.MaxBytes {
		return false // deleting quarantined files would not help
	}
	for s.bytes+s.qbytes+need > s.cfg.MaxBytes && len(s.quar) > 0 {
		if !s.pruneOldest() {
			return false
		}
	}
	return s.bytes+s.qbytes+need <= s.cfg.MaxBytes
}

// pruneOldest deletes the oldest quarantined file; false when it could not.
func (s *Spool) pruneOldest() bool {
	q := s.quar[0]
	if err := os.Remove(q.path); err != nil && !os.IsNotExist(err) {
		s.cfg.Logger.Error("spool: cannot delete quarantined file to make room", "file", q.path, "error", err)
		return false
	}
	s.quar = s.quar[1:]
	s.qbytes -= q.size
	s.m.quarantined.Set(float64(s.qbytes))
	s.m.pruned.Inc()
	s.cfg.Logger.Warn("spool: quarantined file deleted to stay within BRIDGE_SPOOL_MAX_BYTES", "file", q.path,
		"file_bytes", q.size, "quarantined_at", q.mod, "quarantined_bytes", s.qbytes, "max_bytes", s.cfg.MaxBytes)
	return true
}
