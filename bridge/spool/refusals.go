package spool

import (
	"errors"
	"time"
)

// refusalLogEvery is the least time between two warnings about refused appends.
const refusalLogEvery = 10 * time.Second

// refusals rate-limits the warning about refused appends (a full spool or a full disk
// refuses every event, hundreds a second): the first refusal after an accepted append is
// logged at once, later ones at most every refusalLogEvery with the number suppressed
// meanwhile, and the first accepted append after refusals says how many there were.
type refusals struct {
	last       time.Time // when the last warning was logged
	suppressed int       // refusals since that warning, not logged
	total      int       // refusals since the last accepted append
}

// refused counts a refusal at now and reports whether to log it, with the number of
// refusals suppressed since the previous warning.
func (r *refusals) refused(now time.Time) (log bool, suppressed int) {
	r.total++
	if r.total > 1 && now.Sub(r.last) < refusalLogEvery {
		r.suppressed++
		return false, 0
	}
	suppressed, r.suppressed, r.last = r.suppressed, 0, now
	return true, suppressed
}

// accepted ends a run of refusals and returns its length (0: there was none).
func (r *refusals) accepted() int {
	n := r.total
	*r = refusals{}
	return n
}

// noteAppend logs an append's outcome through the rate limit; s.mu is held.
func (s *Spool) noteAppend(err error, now time.Time) {
	if err == nil {
		if n := s.refusals.accepted(); n > 0 {
			s.cfg.Logger.Info("spool: accepting events again", "refused", n, "bytes", s.bytes,
				"max_bytes", s.cfg.MaxBytes)
		}
		return
	}
	if errors.Is(err, ErrClosed) {
		return
	}
	if log, suppressed := s.refusals.refused(now); log {
		s.cfg.Logger.Warn("spool: refusing events (warned at most every 10s)", "error", err,
			"suppressed", suppressed, "refused_in_a_row", s.refusals.total, "bytes", s.bytes,
			"quarantined_bytes", s.qbytes, "max_bytes", s.cfg.MaxBytes)
	}
}
