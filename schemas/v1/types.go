package v1

import "encoding/json"

// SpecVersion is the CloudEvents version of every envelope.
const SpecVersion = "1.0"

// ContentType is the structured-mode content type of a message body.
const ContentType = "application/cloudevents+json"

// DataContentType is the content type of the envelope's data.
const DataContentType = "application/json"

// TypePrefix starts every CloudEvents type; TypeSuffix ends it.
const (
	TypePrefix = "com.rhombussystems."
	TypeSuffix = ".v1"
)

// SchemaBase is the URI prefix of dataschema; the file name follows it.
const SchemaBase = "https://github.com/rhombus-bridge/rhombus-bridge/blob/main/schemas/v1/"

// CloudEvent is the structured CloudEvents 1.0 envelope of every message.
type CloudEvent[D any] struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	DataSchema      string `json:"dataschema"`
	RhombusOrg      string `json:"rhombusorg"`
	RhombusEntity   string `json:"rhombusentity"`
	RhombusChange   string `json:"rhombuschange"`
	RhombusVia      string `json:"rhombusvia"` // websocket, webhook, backfill or bridge (event.Via)
	PartitionKey    string `json:"partitionkey"`
	Data            D      `json:"data"`
}

// ChangeData is the data of every event that came from Rhombus (WebSocket change events,
// webhooks and REST backfill). Normalised fields sit at the top; Raw is the payload exactly
// as Rhombus sent it.
type ChangeData struct {
	Entity              string          `json:"entity"`
	EntityUUID          string          `json:"entityUuid"`
	Type                string          `json:"type"`
	DeviceUUID          string          `json:"deviceUuid"`
	DeviceName          string          `json:"deviceName,omitempty"`
	TimestampMs         int64           `json:"timestampMs"`
	PolicyAlertTriggers []string        `json:"policyAlertTriggers,omitempty"`
	DurationSec         *float64        `json:"durationSec,omitempty"`
	TextDescription     string          `json:"textDescription,omitempty"`
	LocationUUID        string          `json:"locationUuid,omitempty"`
	RuleUUID            string          `json:"ruleUuid,omitempty"`
	AlertKind           string          `json:"alertKind,omitempty"`
	Raw                 json.RawMessage `json:"raw"`
}

// Event is an envelope carrying ChangeData, the shape of every Rhombus-originated message.
type Event = CloudEvent[ChangeData]

// GapData is the data of a BRIDGE_GAP event: a window in which the live subscription was
// not delivering, what caused it and what backfill recovered. Consumers reconcile
// non-alert entities for [StartMs, EndMs] when NonAlertEventsMayBeMissed is true.
type GapData struct {
	GapID                     string `json:"gapId"`
	Instance                  string `json:"instance"`
	StartMs                   int64  `json:"startMs"`
	EndMs                     int64  `json:"endMs"`
	Cause                     string `json:"cause"`
	AlertsRecovered           int    `json:"alertsRecovered"`
	BackfillError             string `json:"backfillError,omitempty"`
	NonAlertEventsMayBeMissed bool   `json:"nonAlertEventsMayBeMissed"`
}

// Gap is an envelope carrying GapData.
type Gap = CloudEvent[GapData]
