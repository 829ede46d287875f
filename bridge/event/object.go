package event

import "strconv"

// Scanner reads one JSON object of a documented shape in one pass, without reflection:
// the fast path of the other decoders of Rhombus payloads (the webhook body), as
// scanChange is this package's. It vouches only for input it reads exactly as
// encoding/json would into fields of the same Go types: every method reports false on
// anything else (escapes, another type, null, a duplicate or case-folded known key, deep
// nesting), and the caller then decodes with encoding/json.
type Scanner struct{ s scanner }

// ScanObject scans b, a JSON object and nothing else but whitespace, calling member for
// each key with sc at its value, which member reads with one of sc's methods. known
// lists the keys member reads (at most 32): a second occurrence of one, or a key that
// differs from one only in case, makes the scan fail, as encoding/json would not keep
// the first or would fold the case. Other keys' values member skips.
func ScanObject(b []byte, known []string, member func(sc *Scanner, key string) bool) bool {
	if len(known) > 32 {
		return false
	}
	sc := Scanner{scanner{s: string(b)}}
	return sc.s.object(func(key string) bool { return member(&sc, key) }, known) && sc.s.skipSpace() == len(sc.s.s)
}

// String reads a string without escapes into dst.
func (sc *Scanner) String(dst *string) bool { return sc.s.str(dst) }

// Int reads an integer that fits an int64 into dst.
func (sc *Scanner) Int(dst *int64) bool {
	v, ok := sc.s.number()
	n, err := strconv.ParseInt(v, 10, 64)
	*dst = n
	return ok && err == nil
}

// Float reads a number that fits a float64 into dst.
func (sc *Scanner) Float(dst *float64) bool {
	v, ok := sc.s.number()
	f, err := strconv.ParseFloat(v, 64)
	*dst = f
	return ok && err == nil
}

// Skip passes over any value the scanner can vouch for.
func (sc *Scanner) Skip() bool { return sc.s.skip() }
