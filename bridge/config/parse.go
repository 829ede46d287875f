package config

import (
	"regexp"
	"strings"
	"time"
)

var (
	tokenRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	streamRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func parse(r raw, mode Mode) (Config, error) {
	var p problems
	c := Config{
		Rhombus: parseRhombus(r, mode, &p),
		Bridge:  parseBridge(r, &p),
		NATS:    parseNATS(r, &p),
		Kafka:   parseKafka(r, &p),
		Webhook: parseWebhook(r, &p),
		HTTP:    HTTP{Addr: addr(&p, "HTTP_ADDR", r.HTTPAddr), Pprof: boolean(&p, "HTTP_PPROF", r.HTTPPprof)},
		Log:     parseLog(r, &p),
		env:     r,
	}
	crossCheck(&c, r, &p)
	return c, p.err()
}

func parseRhombus(r raw, mode Mode, p *problems) Rhombus {
	c := Rhombus{
		APIKey:         strings.TrimSpace(r.APIKey),
		AuthScheme:     oneOf(p, "RHOMBUS_AUTH_SCHEME", r.AuthScheme, "api-token", "partner-api-token"),
		PartnerOrgUUID: strings.TrimSpace(r.PartnerOrgUUID),
		OrgUUID:        strings.TrimSpace(r.OrgUUID),
		Orgs:           orgList(p, r.Orgs),
		OrgsFile:       strings.TrimSpace(r.OrgsFile),
		WSURL:          urlOf(p, "RHOMBUS_WS_URL", r.WSURL, "ws", "wss"),
		APIURL:         strings.TrimRight(urlOf(p, "RHOMBUS_API_URL", r.APIURL, "http", "https"), "/"),
		Heartbeat:      durationIn(p, "RHOMBUS_HEARTBEAT", r.Heartbeat, 100*time.Millisecond, MaxTimeout),
		Entities:       list(r.Entities),
		RESTRate:       float(p, "RHOMBUS_REST_RATE", r.RESTRate, MaxRESTRate),
		CredentialRate: float(p, "RHOMBUS_CREDENTIAL_REST_RATE", r.CredentialRate, MaxRESTRate),
		Enrich:         boolean(p, "BRIDGE_ENRICH", r.Enrich),
	}
	if c.APIKey == "" && mode == ModeRun {
		p.add("RHOMBUS_API_KEY", "required (set it to the Rhombus API token)")
	}
	if c.MultiOrg() {
		checkMultiOrg(c, p)
	} else if c.AuthScheme == "partner-api-token" && c.PartnerOrgUUID == "" {
		p.add("RHOMBUS_PARTNER_ORG_UUID", "required with RHOMBUS_AUTH_SCHEME=partner-api-token")
	}
	return c
}

func parseBridge(r raw, p *problems) Bridge {
	c := Bridge{
		Sinks:           sinkList(p, r.Sinks),
		InstanceID:      strings.TrimSpace(r.InstanceID),
		Lease:           oneOf(p, "BRIDGE_LEASE", r.Lease, "auto", "nats", "kafka", "none"),
		LeaseTTL:        durationIn(p, "BRIDGE_LEASE_TTL", r.LeaseTTL, time.Second, MaxTimeout),
		DataDir:         nonEmpty(p, "BRIDGE_DATA_DIR", r.DataDir),
		PublishTimeout:  durationIn(p, "BRIDGE_PUBLISH_TIMEOUT", r.PublishTimeout, 10*time.Millisecond, MaxTimeout),
		ShutdownTimeout: durationIn(p, "BRIDGE_SHUTDOWN_TIMEOUT", r.ShutdownTimeout, 0, MaxTimeout),
		BufferEvents:    integerIn(p, "BRIDGE_BUFFER_EVENTS", r.BufferEvents, 1, MaxBufferEvents, "each is held in memory"),
		SpoolMaxBytes:   spoolBytes(p, r.SpoolMaxBytes),
		SpoolMaxAge:     duration(p, "BRIDGE_SPOOL_MAX_AGE", r.SpoolMaxAge, time.Second), // 0 would mean the spool's default
		BackfillOverlap: duration(p, "BRIDGE_BACKFILL_OVERLAP", r.BackfillOverlap, 0),
		BackfillMaxAge:  duration(p, "BRIDGE_BACKFILL_MAX_AGE", r.BackfillMaxAge, time.Minute),
	}
	if c.InstanceID == "" {
		c.InstanceID = hostname()
	}
	return c
}

func parseNATS(r raw, p *problems) NATS {
	c := NATS{
		URL:             natsURL(p, r.NATSURL),
		EmbeddedListen:  addr(p, "NATS_EMBEDDED_LISTEN", r.NATSEmbeddedListen),
		Creds:           strings.TrimSpace(r.NATSCreds),
		Stream:          match(p, "NATS_STREAM", r.NATSStream, streamRE, "letters, digits, _ and - only"),
		SubjectPrefix:   match(p, "NATS_SUBJECT_PREFIX", r.NATSSubjectPrefix, tokenRE, "subject tokens of letters, digits, _ and -"),
		DuplicateWindow: durationIn(p, "NATS_DUPLICATE_WINDOW", r.NATSDuplicateWindow, time.Second, MaxDuplicateWindow),
		MaxInFlight:     integerIn(p, "NATS_MAX_INFLIGHT", r.NATSMaxInFlight, 1, MaxNATSInFlight, "each holds its event until acked"),
		Replicas:        integer(p, "NATS_REPLICAS", r.NATSReplicas, 1),
	}
	if c.Replicas > 5 {
		p.add("NATS_REPLICAS", "at most 5, got %d", c.Replicas)
	}
	parseStreamLimits(r, &c, p)
	checkStreamLimits(c, p)
	return c
}

// parseStreamLimits reads NATS_STREAM_MAX_AGE and NATS_STREAM_MAX_BYTES, remembering whether
// each was set: only explicit values are applied to a stream that already exists.
func parseStreamLimits(r raw, c *NATS, p *problems) {
	c.StreamMaxAge, c.StreamMaxBytes = 168*time.Hour, -1
	if c.URL == "" {
		c.StreamMaxBytes = 1 << 30
	}
	if v := strings.TrimSpace(r.NATSStreamMaxAge); v != "" {
		c.StreamMaxAge, c.StreamAgeSet = duration(p, "NATS_STREAM_MAX_AGE", v, 0), true
	}
	if v := strings.TrimSpace(r.NATSStreamMaxBytes); v != "" {
		c.StreamMaxBytes, c.StreamBytesSet = int64(integer(p, "NATS_STREAM_MAX_BYTES", v, -1)), true
		if c.StreamMaxBytes == 0 {
			p.add("NATS_STREAM_MAX_BYTES", "0 would hold nothing; -1 means unlimited")
		}
	}
}

func parseKafka(r raw, p *problems) Kafka {
	return Kafka{
		Brokers:       brokers(p, r.KafkaBrokers),
		Topic:         match(p, "KAFKA_TOPIC", r.KafkaTopic, tokenRE, "letters, digits, ., _ and - only"),
		TLS:           boolean(p, "KAFKA_TLS", r.KafkaTLS),
		CAFile:        strings.TrimSpace(r.KafkaCAFile),
		SASLMechanism: oneOf(p, "KAFKA_SASL_MECHANISM", strings.ToLower(r.KafkaSASL), "", "plain", "scram-sha-256", "scram-sha-512"),
		Username:      r.KafkaUsername,
		Password:      r.KafkaPassword,
		CreateTopic:   boolean(p, "KAFKA_CREATE_TOPIC", r.KafkaCreateTopic),
		Partitions:    integer(p, "KAFKA_PARTITIONS", r.KafkaPartitions, 1),
		Replication:   integer(p, "KAFKA_REPLICATION", r.KafkaReplication, 1),
		LeaseTopic:    match(p, "KAFKA_LEASE_TOPIC", r.KafkaLeaseTopic, tokenRE, "letters, digits, ., _ and - only"),
		StateTopic:    match(p, "KAFKA_STATE_TOPIC", r.KafkaStateTopic, tokenRE, "letters, digits, ., _ and - only"),
		ShardTopic:    match(p, "KAFKA_SHARD_TOPIC", r.KafkaShardTopic, tokenRE, "letters, digits, ., _ and - only"),
		ShardSlots:    integerIn(p, "KAFKA_SHARD_SLOTS", r.KafkaShardSlots, MinShardSlots, MaxShardSlots, whyShardSlots),
	}
}

func parseWebhook(r raw, p *problems) Webhook {
	c := Webhook{
		Addr:        addr(p, "WEBHOOK_ADDR", r.WebhookAddr),
		Path:        r.WebhookPath,
		Secrets:     webhookSecrets(p, r.WebhookSecret),
		SecretsFile: strings.TrimSpace(r.WebhookSecretsFile),
		MaxBytes:    int64(integerIn(p, "WEBHOOK_MAX_BYTES", r.WebhookMaxBytes, 1, MaxWebhookBytes, whyWebhookBytes)),
		AckTimeout:  durationIn(p, "WEBHOOK_ACK_TIMEOUT", r.WebhookTimeout, 10*time.Millisecond, MaxTimeout),
		Concurrency: integerIn(p, "WEBHOOK_CONCURRENCY", r.WebhookConcurrency, 1, MaxWebhookConcurrency, whyConcurrency),
		TLSCert:     strings.TrimSpace(r.WebhookTLSCert),
		TLSKey:      strings.TrimSpace(r.WebhookTLSKey),
		ClientCA:    strings.TrimSpace(r.WebhookClientCA),
		ClientCN:    strings.TrimSpace(r.WebhookClientCN),
	}
	if !strings.HasPrefix(c.Path, "/") {
		p.add("WEBHOOK_PATH", "must start with /, got %q", c.Path)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		p.add("WEBHOOK_TLS_CERT", "WEBHOOK_TLS_CERT and WEBHOOK_TLS_KEY go together")
	}
	if c.ClientCA != "" && c.TLSCert == "" {
		p.add("WEBHOOK_CLIENT_CA", "client certificates need WEBHOOK_TLS_CERT and WEBHOOK_TLS_KEY")
	}
	return c
}

func parseLog(r raw, p *problems) Log {
	return Log{
		Level:  oneOf(p, "LOG_LEVEL", strings.ToLower(r.LogLevel), "debug", "info", "warn", "error"),
		Format: oneOf(p, "LOG_FORMAT", strings.ToLower(r.LogFormat), "json", "text"),
	}
}

// deployment returns BRIDGE_DEPLOYMENT, or derives it from the stream and topic names that
// differ from their defaults: the defaults give LegacyDeployment, NATS_STREAM=CTR gives "ctr".
func deployment(r raw, c *Config, p *problems) string {
	if v := strings.TrimSpace(r.Deployment); v != "" {
		if !streamRE.MatchString(v) || len(v) > 64 {
			p.add("BRIDGE_DEPLOYMENT", "%q: up to 64 letters, digits, _ and - only", v)
		}
		return v
	}
	var parts []string
	if c.NATS.Stream != "RHOMBUS" {
		parts = append(parts, strings.ToLower(c.NATS.Stream))
	}
	if c.Kafka.Topic != "rhombus.events.v1" {
		parts = append(parts, strings.ReplaceAll(c.Kafka.Topic, ".", "_"))
	}
	if len(parts) == 0 {
		return LegacyDeployment
	}
	return strings.Join(parts, "_")
}

// crossCheck validates what depends on several variables and resolves BRIDGE_LEASE=auto.
func crossCheck(c *Config, r raw, p *problems) {
	c.Bridge.Deployment = deployment(r, c, p)
	if c.Bridge.Lease == "auto" {
		c.Bridge.Lease = "none"
		if c.Bridge.Enabled("nats") {
			c.Bridge.Lease = "nats"
		}
	}
	if (c.Bridge.Enabled("kafka") || c.Bridge.Lease == "kafka") && len(c.Kafka.Brokers) == 0 {
		p.add("KAFKA_BROKERS", "required when the Kafka sink or the Kafka lease is on")
	}
	if c.Kafka.SASLMechanism != "" && c.Kafka.Username == "" {
		p.add("KAFKA_USERNAME", "required with KAFKA_SASL_MECHANISM")
	}
	if c.NATS.DuplicateWindow > 0 && c.Bridge.LeaseTTL > 0 && c.Bridge.LeaseTTL > c.NATS.DuplicateWindow {
		p.add("BRIDGE_LEASE_TTL", "must not exceed NATS_DUPLICATE_WINDOW (%s)", r.NATSDuplicateWindow)
	}
	crossCheckOrgs(c, p)
}

func sinkList(p *problems, s string) []string {
	out := list(strings.ToLower(s))
	seen := map[string]bool{}
	for _, v := range out {
		if v != "nats" && v != "kafka" {
			p.add("BRIDGE_SINKS", "unknown sink %q (want nats, kafka or nats,kafka)", v)
		}
		if seen[v] {
			p.add("BRIDGE_SINKS", "sink %q named twice", v)
		}
		seen[v] = true
	}
	if len(out) == 0 {
		p.add("BRIDGE_SINKS", "at least one sink is required")
	}
	return out
}
