package recovery

import "math"

// openEnd is the end of a span whose end is not known yet: the feed is still down, so the
// window reaches into the future until the subscription is back.
const openEnd = math.MaxInt64

// span is a stretch of event time in Unix milliseconds, both bounds inclusive (as
// getPolicyAlertsV2's). It is empty when lo > hi.
type span struct{ lo, hi int64 }

func (s span) empty() bool { return s.lo > s.hi }

// spans is a small interval set: disjoint spans in ascending order, never touching
// (adjacent spans are merged, so a set has as few spans as possible). Operations return a
// new set and never modify their receiver's backing array.
type spans []span

// add returns s ∪ x.
func (s spans) add(x span) spans {
	if x.empty() {
		return s
	}
	out := make(spans, 0, len(s)+1)
	placed := false
	for _, y := range s {
		switch {
		case before(y, x):
			out = append(out, y)
		case before(x, y):
			if !placed {
				out, placed = append(out, x), true
			}
			out = append(out, y)
		default: // overlapping or touching: merged into x
			x = span{min(x.lo, y.lo), max(x.hi, y.hi)}
		}
	}
	if !placed {
		out = append(out, x)
	}
	return out
}

// before reports whether a ends before b starts with at least one millisecond between.
func before(a, b span) bool { return a.hi != openEnd && a.hi+1 < b.lo }

// sub returns s \ x.
func (s spans) sub(x span) spans {
	if x.empty() {
		return s
	}
	out := make(spans, 0, len(s)+1)
	for _, y := range s {
		if y.hi < x.lo || y.lo > x.hi {
			out = append(out, y)
			continue
		}
		if y.lo < x.lo {
			out = append(out, span{y.lo, x.lo - 1})
		}
		if y.hi > x.hi {
			out = append(out, span{x.hi + 1, y.hi})
		}
	}
	return out
}

// minus returns s \ o.
func (s spans) minus(o spans) spans {
	for _, x := range o {
		s = s.sub(x)
	}
	return s
}

// overlaps reports whether some span of s shares a millisecond with x.
func (s spans) overlaps(x span) bool {
	for _, y := range s {
		if y.lo <= x.hi && x.lo <= y.hi {
			return true
		}
	}
	return false
}

// containing returns the span of s that contains x, if one does.
func (s spans) containing(x span) (span, bool) {
	for _, y := range s {
		if y.lo <= x.lo && x.hi <= y.hi {
			return y, true
		}
	}
	return span{}, false
}

// end gives every open span the end e (spans starting after e are dropped).
func (s spans) end(e int64) spans {
	out := make(spans, 0, len(s))
	for _, y := range s {
		if y.hi == openEnd {
			y.hi = e
		}
		if !y.empty() {
			out = append(out, y)
		}
	}
	return out
}

// first returns the earliest span with a known end.
func (s spans) first() (span, bool) {
	for _, y := range s {
		if y.hi != openEnd {
			return y, true
		}
	}
	return span{}, false
}
