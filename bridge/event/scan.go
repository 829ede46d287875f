package event

import "strconv"

// scanChange is the fast path of decodeChange: one pass over a change payload of the
// documented shape, with no reflection and one string copy of the payload that every
// field shares. It reports ok=false for anything it does not handle exactly as
// encoding/json would (escapes, non-string values, duplicate or case-folded keys, odd
// numbers, deep nesting); decodeChange then takes the encoding/json path, so the result
// is the same either way (FuzzScanMatchesDecode checks it).
func scanChange(b []byte) (c change, ok bool) {
	s := scanner{s: string(b)}
	var u alertFields
	hasUpdate := false
	ok = s.object(func(key string) bool {
		switch key {
		case "entity":
			return s.str((*string)(&c.Entity))
		case "entityUuid":
			return s.str((*string)(&c.EntityUUID))
		case "type":
			return s.str((*string)(&c.Type))
		case "update":
			hasUpdate = true
			return s.object(func(k string) bool { return s.field(&u, k) }, knownFields)
		}
		return s.field(&c.alertFields, key)
	}, knownTop)
	if !ok || s.skipSpace() != len(s.s) {
		return change{}, false
	}
	if hasUpdate {
		c.Update = &u
	}
	return c, true
}

// knownTop and knownFields are the keys the two levels decode; a key that differs from one
// of them only in case is left to encoding/json, which matches keys case-insensitively.
var (
	knownFields = []string{"uuid", "deviceUuid", "timestampMs", "durationSec", "policyAlertTriggers", "textDescription", "locationUuid"}
	knownTop    = append([]string{"entity", "entityUuid", "type", "update"}, knownFields...)
)

// field decodes one alertFields key's value, or skips an unknown key's.
func (s *scanner) field(a *alertFields, key string) bool {
	switch key {
	case "uuid":
		return s.str((*string)(&a.UUID))
	case "deviceUuid":
		return s.str((*string)(&a.DeviceUUID))
	case "textDescription":
		return s.str((*string)(&a.TextDescription))
	case "locationUuid":
		return s.str((*string)(&a.LocationUUID))
	case "timestampMs":
		v, ok := s.number()
		n, err := strconv.ParseInt(v, 10, 64)
		a.TimestampMs = LenientInt(n)
		return ok && err == nil
	case "durationSec":
		v, ok := s.number()
		f, err := strconv.ParseFloat(v, 64)
		d := LenientDuration(ClampDuration(f))
		a.DurationSec = &d
		return ok && err == nil
	case "policyAlertTriggers":
		return s.triggers(a)
	}
	return s.skip()
}

func (s *scanner) triggers(a *alertFields) bool {
	if s.skipSpace() >= len(s.s) || s.s[s.i] != '[' {
		return false
	}
	s.i++
	a.PolicyAlertTriggers = make([]flexString, 0, 4)
	if s.skipSpace() < len(s.s) && s.s[s.i] == ']' {
		s.i++
		return true
	}
	for {
		v, ok := s.plain()
		if !ok {
			return false
		}
		a.PolicyAlertTriggers = append(a.PolicyAlertTriggers, flexString(v))
		if s.skipSpace() >= len(s.s) {
			return false
		}
		c := s.s[s.i]
		s.i++
		if c == ']' {
			return true
		}
		if c != ',' {
			return false
		}
	}
}
