package event

import (
	"strconv"
	"time"
	"unicode/utf8"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// encodeChange writes the CloudEvent of ev with data d and returns it with the offset at
// which a deviceName member would go when d has none (0 when it has one): WithDeviceName
// splices the name in there instead of encoding again. It is hand-written (no reflection)
// because it runs once per event on the hot path; the tests decode its output with
// encoding/json into the schemas/v1 types and validate it against the schemas.
func encodeChange(ev *Event, d *v1.ChangeData) (body []byte, nameAt int) {
	b := make([]byte, 0, encodedSize(ev, d))
	b = appendEnvelope(b, ev, v1.SchemaURI(ev.Entity))
	b = append(b, `"data":{"entity":`...)
	b = appendString(b, d.Entity)
	b = append(b, `,"entityUuid":`...)
	b = appendString(b, d.EntityUUID)
	b = append(b, `,"type":`...)
	b = appendString(b, d.Type)
	b = append(b, `,"deviceUuid":`...)
	b = appendString(b, d.DeviceUUID)
	if d.DeviceName == "" {
		nameAt = len(b)
	}
	b = appendOptString(b, "deviceName", d.DeviceName)
	b = append(b, `,"timestampMs":`...)
	b = strconv.AppendInt(b, d.TimestampMs, 10)
	if len(d.PolicyAlertTriggers) > 0 {
		b = append(b, `,"policyAlertTriggers":[`...)
		for i, t := range d.PolicyAlertTriggers {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, t)
		}
		b = append(b, ']')
	}
	if d.DurationSec != nil {
		b = append(b, `,"durationSec":`...)
		b = strconv.AppendFloat(b, *d.DurationSec, 'f', -1, 64)
	}
	b = appendOptString(b, "textDescription", d.TextDescription)
	b = appendOptString(b, "locationUuid", d.LocationUUID)
	b = appendOptString(b, "ruleUuid", d.RuleUUID)
	b = appendOptString(b, "alertKind", d.AlertKind)
	b = append(b, `,"raw":`...)
	b = append(b, d.Raw...)
	return append(b, "}}"...), nameAt
}

// encodedSize is enough room for the CloudEvent of ev and d when nothing needs escaping
// (and room for a device name to be spliced in), so that encoding allocates once.
func encodedSize(ev *Event, d *v1.ChangeData) int {
	n := 640 + len(ev.ID) + 2*len(ev.Org) + 2*len(ev.Entity) + 2*len(ev.Change) + 2*len(ev.Key()) +
		len(d.EntityUUID) + len(d.DeviceUUID) + len(d.DeviceName) + len(d.TextDescription) +
		len(d.LocationUUID) + len(d.RuleUUID) + len(d.AlertKind) + len(d.Raw)
	for _, t := range d.PolicyAlertTriggers {
		n += len(t) + 3
	}
	return n + 64 // a device name spliced in later
}

// spliceDeviceName returns a copy of body, encoded with its deviceName member left out at
// offset at, with the member added there.
func spliceDeviceName(body []byte, at int, name string) []byte {
	b := make([]byte, 0, len(body)+len(name)+24)
	b = append(b, body[:at]...)
	b = appendOptString(b, "deviceName", name)
	return append(b, body[at:]...)
}

// appendEnvelope writes every envelope attribute but data, leaving b after a comma.
func appendEnvelope(b []byte, ev *Event, schema string) []byte {
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"source":"`...) // Source(ev.Org), without building it first
	b = appendStringBody(b, sourcePrefix)
	b = appendStringBody(b, ev.Org)
	b = append(b, '"')
	b = append(b, `,"type":"`...)
	b = appendCEType(b, ev)
	b = append(b, `","subject":`...)
	b = appendString(b, ev.Key())
	b = append(b, `,"time":"`...)
	b = appendTime(b, ev.TimestampMs)
	b = append(b, '"')
	b = append(b, `,"datacontenttype":"application/json","dataschema":`...)
	b = appendString(b, schema)
	b = append(b, `,"rhombusorg":`...)
	b = appendString(b, ev.Org)
	b = append(b, `,"rhombusentity":`...)
	b = appendString(b, ev.Entity)
	b = append(b, `,"rhombuschange":`...)
	b = appendString(b, ev.Change)
	b = append(b, `,"rhombusvia":`...)
	b = appendString(b, string(ev.Via))
	b = append(b, `,"partitionkey":`...)
	b = appendString(b, ev.Key())
	return append(b, ',')
}

// appendCEType appends ev.CEType() without building it first (tokens are JSON-safe).
func appendCEType(b []byte, ev *Event) []byte {
	b = append(b, v1.TypePrefix...)
	b = appendToken(b, ev.Entity)
	b = append(b, '.')
	b = appendToken(b, ev.Change)
	return append(b, v1.TypeSuffix...)
}

// appendToken appends s lower-cased and sanitised as a subject token.
func appendToken(b []byte, s string) []byte {
	if s == "" {
		return append(b, "none"...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-':
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	return b
}

// appendTime appends Time(ms) without an intermediate string.
func appendTime(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms)
	if ms <= 0 {
		t = time.Now()
	}
	return t.UTC().AppendFormat(b, timeLayout)
}

func appendOptString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does (control
// characters, quotes, backslashes, <, >, &, U+2028/9) and replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, s)
	return append(b, '"')
}

// appendStringBody appends s escaped as in a JSON string, without the quotes.
func appendStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, `\u202`...)
				b = append(b, hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
