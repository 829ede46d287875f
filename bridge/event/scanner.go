package event

import "unicode/utf8"

type scanner struct {
	s     string
	i     int
	depth int
}

// object scans {"key": value, ...}, calling value for each key with the scanner at the
// value. Keys must be plain ASCII without escapes and appear once.
func (s *scanner) object(value func(key string) bool, known []string) bool {
	if s.depth++; s.depth > 32 || s.skipSpace() >= len(s.s) || s.s[s.i] != '{' {
		return false
	}
	s.i++
	var seen uint32
	for first := true; ; first = false {
		if s.skipSpace() < len(s.s) && s.s[s.i] == '}' && first {
			break
		}
		key, ok := s.plain()
		if !ok || s.skipSpace() >= len(s.s) || s.s[s.i] != ':' || !s.newKey(key, known, &seen) {
			return false
		}
		s.i++
		if !value(key) {
			return false
		}
		if s.skipSpace() >= len(s.s) {
			return false
		}
		if c := s.s[s.i]; c == '}' {
			break
		} else if c != ',' {
			return false
		}
		s.i++
	}
	s.i++
	s.depth--
	return true
}

// newKey reports whether key may be decoded here: not seen before and not a case variant
// of a known key (encoding/json folds case, Unicode included, so a non-ASCII key is left
// to it too).
func (s *scanner) newKey(key string, known []string, seen *uint32) bool {
	if len(known) > 0 && !isASCII(key) {
		return false
	}
	for i, k := range known {
		if key == k {
			if *seen&(1<<i) != 0 {
				return false
			}
			*seen |= 1 << i
			return true
		}
		if asciiEqualFold(key, k) {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether a and b differ at most in the case of ASCII letters.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if x := a[i] | 0x20; a[i] != b[i] && (x != b[i]|0x20 || x < 'a' || x > 'z') {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plain scans a string without escapes or control characters whose bytes are valid
// UTF-8, returning its contents.
func (s *scanner) plain() (string, bool) {
	if s.skipSpace() >= len(s.s) || s.s[s.i] != '"' {
		return "", false
	}
	start := s.i + 1
	ascii := true
	for j := start; j < len(s.s); j++ {
		switch c := s.s[j]; {
		case c == '"':
			s.i = j + 1
			v := s.s[start:j]
			return v, ascii || utf8.ValidString(v)
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

func (s *scanner) str(dst *string) bool {
	v, ok := s.plain()
	*dst = v
	return ok
}

// number scans a JSON number, returning its text.
func (s *scanner) number() (string, bool) {
	if s.skipSpace() >= len(s.s) {
		return "", false
	}
	start, j := s.i, s.i
	if s.s[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(s.s) && s.s[j] >= '0' && s.s[j] <= '9' {
			j++
		}
		return j - k
	}
	n := digits()
	if n == 0 || n > 1 && s.s[j-n] == '0' {
		return "", false
	}
	if j < len(s.s) && s.s[j] == '.' {
		j++
		if digits() == 0 {
			return "", false
		}
	}
	if j < len(s.s) && (s.s[j] == 'e' || s.s[j] == 'E') {
		j++
		if j < len(s.s) && (s.s[j] == '+' || s.s[j] == '-') {
			j++
		}
		if digits() == 0 {
			return "", false
		}
	}
	s.i = j
	return s.s[start:j], true
}

// skip scans over any value this scanner can vouch for: plain strings, numbers, literals,
// and objects and arrays of them.
func (s *scanner) skip() bool {
	if s.skipSpace() >= len(s.s) {
		return false
	}
	switch c := s.s[s.i]; {
	case c == '"':
		_, ok := s.plain()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		_, ok := s.number()
		return ok
	case c == '{':
		return s.object(func(string) bool { return s.skip() }, noKeys)
	case c == '[':
		return s.array()
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(s.s)-s.i >= len(lit) && s.s[s.i:s.i+len(lit)] == lit {
			s.i += len(lit)
			return true
		}
	}
	return false
}

// noKeys is the known-key list of objects inside unknown values: any key will do.
var noKeys = []string{}

func (s *scanner) array() bool {
	if s.depth++; s.depth > 32 {
		return false
	}
	s.i++
	if s.skipSpace() < len(s.s) && s.s[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !s.skip() || s.skipSpace() >= len(s.s) {
			return false
		}
		c := s.s[s.i]
		s.i++
		if c == ']' {
			s.depth--
			return true
		}
		if c != ',' {
			return false
		}
	}
}

// skipSpace moves past JSON whitespace and returns the new position.
func (s *scanner) skipSpace() int {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return s.i
		}
	}
	return s.i
}
