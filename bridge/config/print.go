package config

import (
	"fmt"
	"reflect"
	"strings"
)

// String prints the effective configuration, one VARIABLE=value line per setting in the
// contract's order, with secrets masked and derived values (instance id, resolved lease,
// deployment) shown as they will be used.
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
		case "BRIDGE_DEPLOYMENT":
			val = c.Bridge.Deployment
		}
		switch f.Tag.Get("secret") {
		case "true":
			val = Mask(val)
		case "userinfo":
			val = RedactURL(val)
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

// RedactURL hides the user-info (user:password@, or a token@) of a URL, or of each URL of
// a comma list, for logs, errors and `check`: nats://u:p@host:4222 → nats://***@host:4222.
// The user-info ends at the last @ of the URL, so a password with an unescaped @ or / is
// still hidden (a URL with @ only in its path loses its host too: safe, if less helpful).
func RedactURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(u string) string {
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndex(u, "@")
	if at < start {
		return u
	}
	return u[:start] + "***" + u[at:]
}
