package event

import (
	"strings"
	"time"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// Via names the path an event took into the bridge.
type Via string

// The paths into the bridge: the values of the CloudEvents rhombusvia attribute (defined
// here only).
const (
	ViaWebSocket Via = "websocket"
	ViaWebhook   Via = "webhook"
	ViaBackfill  Via = "backfill"
	ViaBridge    Via = "bridge" // events the bridge itself emits (gap records)
)

// Entity and change names the bridge treats specially.
const (
	EntityPolicyAlert = "POLICY_ALERT"
	EntityRuleAlert   = "RULE_ALERT"
	EntityGap         = "BRIDGE_GAP"
	ChangeCreate      = "CREATE"
)

// Event is one message on its way to the sinks. It is built by this package's constructors
// and treated as immutable afterwards: sinks read it concurrently.
type Event struct {
	ID          string // deterministic CloudEvents id, also Nats-Msg-Id and Kafka ce_id
	Org         string // Rhombus org uuid
	Entity      string // entity type as Rhombus sent it, e.g. POLICY_ALERT ("" when invalid)
	Change      string // change type as Rhombus sent it, e.g. CREATE
	EntityUUID  string
	DeviceUUID  string
	TimestampMs int64 // occurrence time; 0 when unknown
	Via         Via

	// Invalid marks input that could not be understood; Body then holds the raw bytes
	// and Reason says why.
	Invalid bool
	Reason  string

	// Received is when the bridge took the event in (for latency accounting); zero when
	// unknown.
	Received time.Time

	// Fence is the lease revision under which the leader took the event from Rhombus,
	// 0 when the event did not come from the leader's subscription.
	Fence uint64

	// Body is the encoded message: the CloudEvent JSON, or the raw bytes when Invalid.
	Body []byte

	data   *v1.ChangeData // what Body was encoded from (shared, never modified); see Data
	nameAt int            // where in Body a deviceName member goes; 0 when not known
}

// IsAlertCreate reports whether the event is the creation of a policy alert, the kind of
// event that REST backfill can recover.
func (e *Event) IsAlertCreate() bool {
	return e.Entity == EntityPolicyAlert && e.Change == ChangeCreate
}

// CEType is the CloudEvents type, e.g. com.rhombussystems.policy_alert.create.v1, with the
// entity and change sanitised like subject tokens.
func (e *Event) CEType() string {
	if e.Invalid {
		return v1.TypePrefix + "invalid" + v1.TypeSuffix
	}
	return string(appendCEType(make([]byte, 0, 64), e))
}

// Key is the partition key: the device uuid, else the entity uuid, else "none".
func (e *Event) Key() string {
	switch {
	case e.DeviceUUID != "":
		return e.DeviceUUID
	case e.EntityUUID != "":
		return e.EntityUUID
	default:
		return "none"
	}
}

// Subject is the NATS subject under prefix:
// {prefix}.v1.{org}.{entity}.{change}.{device}, or {prefix}.v1.{org}.invalid.
// Every token is sanitised, so the subject is never malformed whatever the input.
func (e *Event) Subject(prefix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(e.Org) + len(e.Entity) + len(e.Change) + len(e.DeviceUUID) + 12)
	b.WriteString(prefix)
	b.WriteString(".v1.")
	writeToken(&b, e.Org)
	if e.Invalid {
		b.WriteString(".invalid")
		return b.String()
	}
	b.WriteByte('.')
	writeLowerToken(&b, e.Entity)
	b.WriteByte('.')
	writeLowerToken(&b, e.Change)
	b.WriteByte('.')
	writeToken(&b, e.DeviceUUID)
	return b.String()
}

// Token sanitises one subject token: any character outside [A-Za-z0-9_-] becomes '_' and
// an empty token becomes "none".
func Token(s string) string {
	var b strings.Builder
	writeToken(&b, s)
	return b.String()
}

func writeToken(b *strings.Builder, s string) { writeTokenCase(b, s, false) }

// writeLowerToken is writeToken of strings.ToLower(s), without the lower-case copy when s
// is ASCII (Unicode lower-casing may change a string's length: that case takes ToLower).
func writeLowerToken(b *strings.Builder, s string) {
	if !isASCII(s) {
		writeToken(b, strings.ToLower(s))
		return
	}
	writeTokenCase(b, s, true)
}

func writeTokenCase(b *strings.Builder, s string, lower bool) {
	if s == "" {
		b.WriteString("none")
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lower && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
}
