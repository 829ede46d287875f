// Package validate checks bodies against the embedded v1 JSON Schemas with a real JSON
// Schema (draft 2020-12) validator. It is separate from schemas/v1 so that consumers who
// only decode events do not import a validator.
package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	errLoad  error
)

func load() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	compiled = map[string]*jsonschema.Schema{}
	for _, name := range v1.SchemaNames() {
		b, _ := v1.Schema(name)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
		if err := c.AddResource(v1.SchemaBase+name, doc); err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
	}
	for _, name := range v1.SchemaNames() {
		s, err := c.Compile(v1.SchemaBase + name)
		if err != nil {
			errLoad = fmt.Errorf("compile %s: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

// Event validates a CloudEvent body against the schema its rhombusentity selects.
func Event(body []byte) error {
	once.Do(load)
	if errLoad != nil {
		return errLoad
	}
	var head struct {
		Entity string `json:"rhombusentity"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	name := v1.SchemaFile(head.Entity)
	if err := compiled[name].Validate(inst); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
