package config

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the validated configuration of one rhombus-bridge process.
type Config struct {
	Rhombus Rhombus
	Bridge  Bridge
	NATS    NATS
	Kafka   Kafka
	Webhook Webhook
	HTTP    HTTP
	Log     Log

	env raw // the environment as read, for String
}

// Rhombus is how to reach Rhombus.
type Rhombus struct {
	APIKey         string
	AuthScheme     string
	PartnerOrgUUID string
	OrgUUID        string
	// Orgs and OrgsFile turn on many organisations (partner mode); see orgs.go.
	Orgs      []string
	OrgsFile  string
	WSURL     string
	APIURL    string
	Heartbeat time.Duration
	Entities  []string
	RESTRate  float64 // the budget of each org
	// CredentialRate is the budget of one API key in partner mode, shared by every org
	// that calls with it (the partner token's orgs; an own key's org).
	CredentialRate float64
	Enrich         bool
}

// Bridge is the bridge's own behaviour.
type Bridge struct {
	Sinks           []string // "nats", "kafka"
	InstanceID      string
	Lease           string // "nats", "kafka" or "none" (auto is resolved)
	LeaseTTL        time.Duration
	DataDir         string
	PublishTimeout  time.Duration
	ShutdownTimeout time.Duration
	BufferEvents    int
	SpoolMaxBytes   int64
	SpoolMaxAge     time.Duration
	BackfillOverlap time.Duration
	BackfillMaxAge  time.Duration
	// Deployment scopes every piece of state replicas share (lease keys and group, watermark,
	// shard state). LegacyDeployment, the default one, keeps the names used before it existed.
	Deployment string
}

// NATS is the JetStream sink (and NATS lease).
type NATS struct {
	URL             string // empty: embedded server
	EmbeddedListen  string
	Creds           string
	Stream          string
	SubjectPrefix   string
	DuplicateWindow time.Duration
	MaxInFlight     int
	Replicas        int
	// StreamMaxAge and StreamMaxBytes apply when the bridge creates the stream; on an existing
	// stream only when set explicitly (StreamAgeSet, StreamBytesSet), so an operator's own edit
	// survives a restart. StreamMaxBytes is -1 (unlimited), or 1 GiB by default when embedded.
	StreamMaxAge   time.Duration
	StreamMaxBytes int64
	StreamAgeSet   bool
	StreamBytesSet bool
}

// Kafka is the Kafka sink (and the Kafka lease and watermark store).
type Kafka struct {
	Brokers       []string
	Topic         string
	TLS           bool
	CAFile        string
	SASLMechanism string
	Username      string
	Password      string
	CreateTopic   bool
	Partitions    int
	Replication   int
	LeaseTopic    string
	StateTopic    string // compacted topic of the shared watermark when NATS is off
	ShardTopic    string // partner mode, Kafka lease: coordination topic, a partition per org slot
	ShardSlots    int    // partner mode, Kafka lease: org slots
}

// Webhook is the webhook receiver.
type Webhook struct {
	Addr        string
	Path        string
	Secrets     []string // empty: receiver off (single org)
	SecretsFile string   // many organisations: per-org secrets (see orgs.go)
	MaxBytes    int64
	AckTimeout  time.Duration
	Concurrency int
	TLSCert     string
	TLSKey      string
	ClientCA    string
	ClientCN    string
}

// HTTP is the operations endpoint.
type HTTP struct {
	Addr  string
	Pprof bool // serve /debug/pprof/ (off by default: never exposed unless asked for)
}

// Log is the slog setup.
type Log struct{ Level, Format string }

// LegacyDeployment is the deployment name of the defaults (NATS_STREAM=RHOMBUS,
// KAFKA_TOPIC=rhombus.events.v1); its shared state keeps the names it had before
// BRIDGE_DEPLOYMENT existed, so an upgrade keeps its lease and watermark.
const LegacyDeployment = "rhombus"

// Mode says what the configuration is for; it changes what is required.
type Mode int

const (
	// ModeRun is the production bridge: an API key is required.
	ModeRun Mode = iota
	// ModeDemo runs against the built-in simulator: nothing is required.
	ModeDemo
)

// Load reads the environment, validates it and returns the configuration, or an error
// listing every problem found (errors.Join of one error per problem).
func Load(mode Mode) (Config, error) {
	var r raw
	if err := envconfig.Process("", &r); err != nil {
		return Config{}, fmt.Errorf("config: %w", err) // strings only: cannot fail in practice
	}
	return parse(r, mode)
}

// Enabled reports whether the named sink is on.
func (b Bridge) Enabled(sink string) bool {
	for _, s := range b.Sinks {
		if s == sink {
			return true
		}
	}
	return false
}

// WebhookOn reports whether the webhook receiver runs (a secret is configured).
func (w Webhook) WebhookOn() bool { return len(w.Secrets) > 0 || w.SecretsFile != "" }

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "rhombus-bridge"
	}
	return h
}

// problems collects every configuration problem.
type problems []error

func (p *problems) add(name, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration (%d problems):\n%w", len(p), errors.Join(p...))
}
