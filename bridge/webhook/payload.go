package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// Entities and changes of the webhook events that have no WebSocket counterpart.
const (
	EntityDeviceDiagnostic = "DEVICE_DIAGNOSTIC" // a diagnostic webhook without an alertUuid
	EntityWebhookTest      = "WEBHOOK_TEST"      // a verified body naming no alert, rule or diagnostic
	ChangeTrigger          = "TRIGGER"           // RULE_ALERT and DEVICE_DIAGNOSTIC
	ChangeTest             = "TEST"              // WEBHOOK_TEST
	KindActivity           = "activity"
	KindDiagnostic         = "diagnostic"
)

// errBadBody is wrapped by every error about a body that cannot be read (answered 400).
var errBadBody = errors.New("webhook body")

// body is what the bridge reads of a webhook; everything else stays in raw only. Field
// types are lenient: Rhombus documents version as an integer and sends a string.
type body struct {
	AlertUUID         idString    `json:"alertUuid"`
	UUID              idString    `json:"uuid"`
	RuleUUID          idString    `json:"ruleUuid"`
	DeviceUUID        idString    `json:"deviceUuid"`
	TimestampMs       flexInt     `json:"timestampMs"`
	TriggeredMs       flexInt     `json:"triggeredTimestampMs"`
	ActivityTrigger   looseString `json:"activityTrigger"`
	DiagnosticTrigger looseString `json:"diagnosticTrigger"`
	Summary           looseString `json:"summary"`
	Location          idString    `json:"location"`
	LocationUUID      idString    `json:"locationUuid"`
	DurationSec       *flexFloat  `json:"durationSec"`
}

// strictBody is body with the types Rhombus documents. Decoding into it is much faster
// than into the lenient shape, which is the fallback when a field has another type.
type strictBody struct {
	AlertUUID         string   `json:"alertUuid"`
	UUID              string   `json:"uuid"`
	RuleUUID          string   `json:"ruleUuid"`
	DeviceUUID        string   `json:"deviceUuid"`
	TimestampMs       int64    `json:"timestampMs"`
	TriggeredMs       int64    `json:"triggeredTimestampMs"`
	ActivityTrigger   string   `json:"activityTrigger"`
	DiagnosticTrigger string   `json:"diagnosticTrigger"`
	Summary           string   `json:"summary"`
	Location          string   `json:"location"`
	LocationUUID      string   `json:"locationUuid"`
	DurationSec       *float64 `json:"durationSec"`
}

// decodeBody decodes raw strictly (scanned in one pass, or else by encoding/json),
// falling back to the lenient types; all give the same fields for well-typed input.
func decodeBody(raw []byte) (body, error) {
	s, ok := scanBody(raw)
	if !ok {
		s = strictBody{}
		if json.Unmarshal(raw, &s) != nil {
			var b body
			err := json.Unmarshal(raw, &b)
			return b, err
		}
	}
	id := func(v string) idString { return idString(strings.TrimSpace(v)) }
	b := body{AlertUUID: id(s.AlertUUID), UUID: id(s.UUID), RuleUUID: id(s.RuleUUID), DeviceUUID: id(s.DeviceUUID),
		TimestampMs: flexInt(s.TimestampMs), TriggeredMs: flexInt(s.TriggeredMs),
		ActivityTrigger: looseString(s.ActivityTrigger), DiagnosticTrigger: looseString(s.DiagnosticTrigger),
		Summary: looseString(s.Summary), Location: id(s.Location), LocationUUID: id(s.LocationUUID)}
	if s.DurationSec != nil {
		f := flexFloat(event.ClampDuration(*s.DurationSec))
		b.DurationSec = &f
	}
	return b, nil
}

// strictKeys are the members scanBody reads.
var strictKeys = []string{"alertUuid", "uuid", "ruleUuid", "deviceUuid", "timestampMs", "triggeredTimestampMs",
	"activityTrigger", "diagnosticTrigger", "summary", "location", "locationUuid", "durationSec"}

// scanBody is decoding into strictBody without reflection; false when event.ScanObject
// cannot vouch for raw (FuzzScanBody checks that what it reads is encoding/json's).
func scanBody(raw []byte) (s strictBody, ok bool) {
	ok = event.ScanObject(raw, strictKeys, func(sc *event.Scanner, key string) bool {
		switch key {
		case "alertUuid":
			return sc.String(&s.AlertUUID)
		case "uuid":
			return sc.String(&s.UUID)
		case "ruleUuid":
			return sc.String(&s.RuleUUID)
		case "deviceUuid":
			return sc.String(&s.DeviceUUID)
		case "timestampMs":
			return sc.Int(&s.TimestampMs)
		case "triggeredTimestampMs":
			return sc.Int(&s.TriggeredMs)
		case "activityTrigger":
			return sc.String(&s.ActivityTrigger)
		case "diagnosticTrigger":
			return sc.String(&s.DiagnosticTrigger)
		case "summary":
			return sc.String(&s.Summary)
		case "location":
			return sc.String(&s.Location)
		case "locationUuid":
			return sc.String(&s.LocationUUID)
		case "durationSec":
			s.DurationSec = new(float64)
			return sc.Float(s.DurationSec)
		}
		return sc.Skip()
	})
	return s, ok
}

// mapped is the outcome of reading a verified body: normalised data, or the reason it
// goes to the invalid subject.
type mapped struct {
	data    v1.ChangeData
	invalid error
}

// mapBody reads raw (a whole request body) into change data. An error (wrapping
// errBadBody) means 400; a mapped.invalid means "acknowledge and publish to the invalid
// subject".
func mapBody(raw []byte) (mapped, error) {
	trimmed := bytes.Trim(raw, " \t\r\n") // JSON's whitespace; raw itself is kept as sent
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return mapped{}, fmt.Errorf("%w: not a JSON object", errBadBody)
	}
	b, err := decodeBody(trimmed)
	if err != nil {
		return mapped{}, fmt.Errorf("%w: %w", errBadBody, err)
	}
	d := v1.ChangeData{DeviceUUID: string(b.DeviceUUID), TimestampMs: int64(b.TimestampMs),
		TextDescription: string(b.Summary), LocationUUID: firstOf(b.LocationUUID, b.Location), Raw: raw}
	if b.DurationSec != nil {
		f := float64(*b.DurationSec)
		d.DurationSec = &f
	}
	if err := classify(&b, &d); err != nil {
		return mapped{invalid: err}, nil
	}
	if d.TimestampMs < 0 {
		d.TimestampMs = 0
	}
	return mapped{data: d}, nil
}

// classify sets the entity, change and kind-specific fields of d from b (see doc.go); an
// error means the body names an alert that cannot be identified.
func classify(b *body, d *v1.ChangeData) error {
	activity, diagnostic := triggers(b.ActivityTrigger), triggers(b.DiagnosticTrigger)
	switch {
	case b.RuleUUID != "":
		d.Entity, d.Type, d.EntityUUID, d.RuleUUID = event.EntityRuleAlert, ChangeTrigger, string(b.UUID), string(b.RuleUUID)
		if b.TriggeredMs > 0 {
			d.TimestampMs = int64(b.TriggeredMs)
		}
		d.PolicyAlertTriggers = append(activity, diagnostic...)
	case b.AlertUUID != "":
		d.Entity, d.Type, d.EntityUUID = event.EntityPolicyAlert, event.ChangeCreate, string(b.AlertUUID)
		d.PolicyAlertTriggers, d.AlertKind = append(activity, diagnostic...), KindActivity
		if len(activity) == 0 && len(diagnostic) > 0 {
			d.AlertKind = KindDiagnostic
		}
	case len(diagnostic) > 0:
		d.Entity, d.Type = EntityDeviceDiagnostic, ChangeTrigger
		d.PolicyAlertTriggers, d.AlertKind = diagnostic, KindDiagnostic
	case len(activity) > 0 || b.UUID != "":
		return errors.New("webhook: an alert or rule body without alertUuid or ruleUuid")
	default:
		d.Entity, d.Type = EntityWebhookTest, ChangeTest
	}
	return nil
}

// triggers splits Rhombus's comma-separated trigger list.
func triggers(s looseString) []string {
	if strings.TrimSpace(string(s)) == "" {
		return nil
	}
	parts := strings.Split(string(s), ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstOf(a, b idString) string {
	if a != "" {
		return string(a)
	}
	return string(b)
}

// idString accepts a JSON string or number (null: empty); an object, array or bool is an
// error naming the field, since an id that cannot be read must not be guessed.
type idString string

var stringType = reflect.TypeFor[string]()

func (s *idString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return nil
	case b[0] == '"':
		v, err := unquote(b)
		if err != nil {
			return err
		}
		*s = idString(strings.TrimSpace(v))
	case b[0] == 'n':
		*s = ""
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*s = idString(b)
	default:
		return &json.UnmarshalTypeError{Value: kindOf(b[0]), Type: stringType}
	}
	return nil
}

// unquote decodes a JSON string literal. encoding/json has validated the literal before
// calling UnmarshalJSON, so one without escapes is its own content.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	var v string
	err := json.Unmarshal(b, &v)
	return v, err
}

func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	default:
		return "bool"
	}
}

// looseString accepts anything: strings as they are, numbers and bools as written,
// null, objects and arrays as empty (descriptive fields only; raw keeps the original).
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		v, err := unquote(b)
		if err != nil {
			return err
		}
		*s = looseString(v)
	case len(b) > 0 && (b[0] == '{' || b[0] == '[' || b[0] == 'n'):
		*s = ""
	default:
		*s = looseString(b)
	}
	return nil
}

// The lenient number types are the event model's, so both paths read odd payloads alike.
type (
	flexInt   = event.LenientInt
	flexFloat = event.LenientDuration
)
