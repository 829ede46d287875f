package event

import (
	"strconv"
	"time"
	"unicode/utf8"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// encodeChange writes the CloudEvent of ev with data d. It is hand-written (no reflection)
// because it runs once per event on the hot path; TestEncodeMatchesSchemaTypes decodes its
// output with encoding/json into the schemas/v1 types.
func encodeChange(ev *Event, d *v1.ChangeData) []byte {
	b := make([]byte, 0, 512+len(d.Raw))
	b = appendEnvelope(b, ev, v1.SchemaURI(ev.Entity))
	b = append(b, `"data":{"entity":`...)
	b = appendString(b, d.Entity)
	b = append(b, `,"entityUuid":`...)
	b = appendString(b, d.EntityUUID)
	b = append(b, `,"type":`...)
	b = appendString(b, d.Type)
	b = append(b, `,"deviceUuid":`...)
	b = appendString(b, d.DeviceUUID)
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
	return append(b, "}}"...)
}

// appendEnvelope writes every envelope attribute but data, leaving b after a comma.
func appendEnvelope(b []byte, ev *Event, schema string) []byte {
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"source":`...)
	b = appendString(b, Source(ev.Org))
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
	b = append(b, s[start:]...)
	return append(b, '"')
}
