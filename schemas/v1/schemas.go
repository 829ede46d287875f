package v1

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed *.schema.json
var files embed.FS

// Schema returns the JSON Schema document with the given file name (e.g.
// "policy_alert.schema.json").
func Schema(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("schemas/v1: no schema %q: %w", name, err)
	}
	return b, nil
}

// SchemaNames lists every embedded schema file.
func SchemaNames() []string {
	entries, _ := files.ReadDir(".")
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// SchemaFile returns the schema file that describes events of the given entity (as
// Rhombus names it, e.g. POLICY_ALERT). Unknown entities share the generic change schema.
func SchemaFile(entity string) string {
	switch strings.ToUpper(entity) {
	case "POLICY_ALERT":
		return "policy_alert.schema.json"
	case "DEVICE_CONFIG":
		return "device_config.schema.json"
	case "RULE_ALERT":
		return "rule_alert.schema.json"
	case "BRIDGE_GAP":
		return "gap.schema.json"
	default:
		return "change.schema.json"
	}
}

// SchemaURI is the dataschema of events of the given entity.
func SchemaURI(entity string) string {
	switch f := SchemaFile(entity); f {
	case "policy_alert.schema.json":
		return SchemaBase + "policy_alert.schema.json"
	case "device_config.schema.json":
		return SchemaBase + "device_config.schema.json"
	default:
		return SchemaBase + f
	}
}
