package config

import (
	"fmt"
	"reflect"
	"strings"
)

// String prints the effective configuration, one VARIABLE=value line per setting in the
// contract's order, with secrets masked and derived values (instance id, resolved lease)
// shown as they will be used.
func (c Config) String() string {
	var b strings.Builder
	v := reflect.ValueOf(c.env)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		val := v.Field(i).String()
		switch f.Tag.Get("envconfig") {
		case "BRIDGE_INSTANCE_ID":
			val = c.Bridge.InstanceID
		case "BRIDGE_LEASE":
			val = c.Bridge.Lease
		}
		if f.Tag.Get("secret") == "true" {
			val = Mask(val)
		}
		fmt.Fprintf(&b, "%s=%s\n", f.Tag.Get("envconfig"), val)
	}
	return b.String()
}

// Mask hides a secret but says whether it is set and, for lists, how many values it has.
func Mask(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	n := len(list(s))
	if n > 1 {
		return fmt.Sprintf("****** (%d values)", n)
	}
	return "******"
}
