// Package v1 holds the version-1 data contract of rhombus-bridge: the Go types of every
// CloudEvent the bridge publishes and the JSON Schemas that describe them (embedded, so a
// consumer can validate without reading files).
//
// Consumers import this package to decode events:
//
//	var ce v1.CloudEvent[v1.ChangeData]
//	err := json.Unmarshal(msg.Data(), &ce)
//
// A breaking change to any shape gets a new package (v2) and new CloudEvents types ending
// in ".v2"; v1 stays as it is.
package v1
