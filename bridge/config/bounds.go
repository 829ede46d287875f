package config

import (
	"errors"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bounds of the settings: values outside them fail or misbehave at run time (an allocation
// the size of the setting, a rate limit silently off, a stream JetStream refuses), so Load
// rejects them up front.
const (
	MaxRESTRate           = 1000      // RHOMBUS_REST_RATE and RHOMBUS_CREDENTIAL_REST_RATE, requests/s
	MaxBufferEvents       = 1_000_000 // BRIDGE_BUFFER_EVENTS: each held event is kilobytes of memory
	MinSpoolBytes         = 64 << 10  // BRIDGE_SPOOL_MAX_BYTES unless 0 (off): room for a few dozen events
	MaxWebhookBytes       = 512 << 10 // WEBHOOK_MAX_BYTES: half of NATS's default 1 MiB max_payload
	MaxWebhookConcurrency = 4096      // WEBHOOK_CONCURRENCY: each request may hold WEBHOOK_MAX_BYTES
	MaxNATSInFlight       = 65536     // NATS_MAX_INFLIGHT: each publish holds its event until acked
	MinStreamBytes        = 1 << 20   // NATS_STREAM_MAX_BYTES unless -1: one message of max_payload
	MaxTimeout            = 5 * time.Minute
	MaxDuplicateWindow    = 24 * time.Hour // NATS_DUPLICATE_WINDOW: the server keeps every id of it in memory
	minStreamAge          = 100 * time.Millisecond
	MinShardSlots         = 16   // KAFKA_SHARD_SLOTS: fewer slots than orgs per replica makes the shard lumpy
	MaxShardSlots         = 4096 // KAFKA_SHARD_SLOTS: the shard map travels in every member's assignment
)

// Why the webhook bounds exist, for their problem lines.
const (
	whyWebhookBytes = "the CloudEvent carries the body twice and must fit the broker's 1 MiB maximum payload"
	whyConcurrency  = "each request may hold WEBHOOK_MAX_BYTES"
	whyShardSlots   = "the shard map, a slot each, travels in every member's group assignment"
)

var hostRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$`)

// durationIn is duration with an upper bound as well.
func durationIn(p *problems, name, v string, least, most time.Duration) time.Duration {
	d := duration(p, name, v, least)
	if d > most {
		p.add(name, "%s is above the maximum %s", d, most)
	}
	return d
}

// integerIn is integer with an upper bound as well; why says what the bound protects.
func integerIn(p *problems, name, v string, least, most int, why string) int {
	n := integer(p, name, v, least)
	if n > most {
		p.add(name, "%d is above the maximum %d (%s)", n, most, why)
	}
	return n
}

// spoolBytes reads BRIDGE_SPOOL_MAX_BYTES: 0 turns the spool off, anything else must leave
// the spool room to work.
func spoolBytes(p *problems, v string) int64 {
	n := int64(integer(p, "BRIDGE_SPOOL_MAX_BYTES", v, 0))
	if n > 0 && n < MinSpoolBytes {
		p.add("BRIDGE_SPOOL_MAX_BYTES", "%d is below the spool's minimum %d (0 turns the spool off)", n, MinSpoolBytes)
	}
	return n
}

// webhookSecrets reads WEBHOOK_SECRET: empty turns the receiver off, but a value that holds
// no secret (",", blanks) is a mistake, not a request to turn it off.
func webhookSecrets(p *problems, v string) []string {
	s := list(v)
	if v != "" && len(s) == 0 {
		p.add("WEBHOOK_SECRET", "set but holds no secret (only commas or blanks); leave it empty to turn the receiver off")
	}
	return s
}

// brokers reads KAFKA_BROKERS: a comma list of host:port.
func brokers(p *problems, v string) []string {
	out := list(v)
	for _, b := range out {
		if why := hostPortProblem(b); why != "" {
			p.add("KAFKA_BROKERS", "%q %s; want host:port (like kafka-0:9092), comma separated", b, why)
		}
	}
	return out
}

// hostPortProblem says what is wrong with a host:port, or "".
func hostPortProblem(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "is not host:port (" + ae.Err + ")"
		}
		return "is not host:port"
	}
	if host == "" || net.ParseIP(host) == nil && !hostRE.MatchString(host) {
		return "has no valid host"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "has no valid port (1-65535)"
	}
	return ""
}

// natsURL reads NATS_URL: empty (embedded server), or a comma list of NATS URLs.
func natsURL(p *problems, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	for _, u := range strings.Split(v, ",") {
		if why := natsURLProblem(strings.TrimSpace(u)); why != "" {
			p.add("NATS_URL", "%q %s; want nats://, tls://, ws:// or wss:// with a host (like nats://nats:4222), "+
				"or a comma list of such URLs", RedactURL(u), why)
		}
	}
	return v
}

// natsURLProblem says what is wrong with one NATS URL, or "". An error never quotes the
// URL itself (its password).
func natsURLProblem(s string) string {
	if s == "" {
		return "is an empty entry"
	}
	if !strings.Contains(s, "://") {
		return "has no scheme"
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "is not a URL (" + err.Error() + ")"
	}
	switch {
	case u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss":
		return "has scheme " + strconv.Quote(u.Scheme)
	case u.Hostname() == "":
		return "has no host"
	case u.Port() != "":
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return "has no valid port (1-65535)"
		}
	}
	return ""
}

// checkStreamLimits validates the stream limits against what JetStream accepts.
func checkStreamLimits(c NATS, p *problems) {
	if c.StreamAgeSet && c.StreamMaxAge > 0 && c.StreamMaxAge < minStreamAge {
		p.add("NATS_STREAM_MAX_AGE", "%s is below JetStream's minimum %s (0 means no limit)", c.StreamMaxAge, minStreamAge)
	}
	if c.StreamAgeSet && c.StreamMaxAge >= minStreamAge && c.DuplicateWindow > c.StreamMaxAge {
		p.add("NATS_DUPLICATE_WINDOW", "%s exceeds NATS_STREAM_MAX_AGE (%s): JetStream refuses such a stream",
			c.DuplicateWindow, c.StreamMaxAge)
	}
	if c.StreamBytesSet && c.StreamMaxBytes > 0 && c.StreamMaxBytes < MinStreamBytes {
		p.add("NATS_STREAM_MAX_BYTES", "%d is below the minimum %d (one message of the broker's maximum payload); "+
			"-1 means unlimited", c.StreamMaxBytes, MinStreamBytes)
	}
}

// finite rejects NaN and ±Inf, which ParseFloat accepts.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
