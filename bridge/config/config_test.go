package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func setenv(t *testing.T, kv map[string]string) {
	t.Helper()
	for k, v := range kv {
		t.Setenv(k, v)
	}
}

func TestDefaults(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k"})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rhombus.Heartbeat != 10*time.Second || c.Bridge.Lease != "nats" || c.NATS.Stream != "RHOMBUS" ||
		c.Webhook.MaxBytes != 524288 || c.Kafka.Topic != "rhombus.events.v1" || c.Webhook.WebhookOn() ||
		c.Bridge.Deployment != LegacyDeployment || c.HTTP.Pprof || c.NATS.StreamMaxAge != 168*time.Hour ||
		c.NATS.StreamMaxBytes != 1<<30 || c.NATS.StreamAgeSet || c.NATS.StreamBytesSet {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.Bridge.InstanceID == "" {
		t.Fatal("instance id should default to the hostname")
	}
}

func TestDeploymentDerived(t *testing.T) {
	for _, tc := range []struct{ stream, topic, explicit, want string }{
		{"RHOMBUS", "rhombus.events.v1", "", LegacyDeployment},
		{"CTR", "rhombus.events.v1", "", "ctr"},
		{"RHOMBUS", "ctr.events", "", "ctr_events"},
		{"CTR", "ctr.events", "", "ctr_ctr_events"},
		{"CTR", "ctr.events", "staging", "staging"},
	} {
		setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "NATS_STREAM": tc.stream, "KAFKA_TOPIC": tc.topic,
			"BRIDGE_DEPLOYMENT": tc.explicit})
		c, err := Load(ModeRun)
		if err != nil || c.Bridge.Deployment != tc.want {
			t.Errorf("%+v: deployment %q, err %v", tc, c.Bridge.Deployment, err)
		}
	}
}

func TestStreamLimitsExplicit(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "NATS_URL": "nats://127.0.0.1:4222",
		"NATS_STREAM_MAX_AGE": "24h", "NATS_STREAM_MAX_BYTES": "-1"})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.StreamMaxAge != 24*time.Hour || !c.NATS.StreamAgeSet || c.NATS.StreamMaxBytes != -1 || !c.NATS.StreamBytesSet {
		t.Fatalf("limits: %+v", c.NATS)
	}
}

func TestEveryProblemReported(t *testing.T) {
	setenv(t, map[string]string{
		"RHOMBUS_API_KEY":       "   ",
		"RHOMBUS_HEARTBEAT":     "often",
		"BRIDGE_SINKS":          "nats,redis",
		"BRIDGE_LEASE_TTL":      "-1s",
		"NATS_SUBJECT_PREFIX":   "a b",
		"WEBHOOK_MAX_BYTES":     "lots",
		"RHOMBUS_WS_URL":        "http://x/websocket",
		"LOG_LEVEL":             "loud",
		"KAFKA_SASL_MECHANISM":  "gssapi",
		"NATS_DUPLICATE_WINDOW": "10m",
	})
	_, err := Load(ModeRun)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"RHOMBUS_API_KEY", "RHOMBUS_HEARTBEAT", "BRIDGE_SINKS", "BRIDGE_LEASE_TTL",
		"NATS_SUBJECT_PREFIX", "WEBHOOK_MAX_BYTES", "RHOMBUS_WS_URL", "LOG_LEVEL", "KAFKA_SASL_MECHANISM"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) < 9 {
		t.Errorf("want one joined error per problem, got %v", err)
	}
}

func TestDemoNeedsNoKey(t *testing.T) {
	if _, err := Load(ModeDemo); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ModeRun); err == nil || !strings.Contains(err.Error(), "RHOMBUS_API_KEY") {
		t.Fatalf("run mode must require the key, got %v", err)
	}
}

func TestKafkaNeedsBrokers(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "BRIDGE_SINKS": "kafka"})
	c, err := Load(ModeRun)
	if err == nil || !strings.Contains(err.Error(), "KAFKA_BROKERS") {
		t.Fatalf("want KAFKA_BROKERS problem, got %v", err)
	}
	if c.Bridge.Lease != "none" {
		t.Fatalf("auto lease without nats should be none, got %s", c.Bridge.Lease)
	}
}

func TestStringMasksSecrets(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "supersecret", "WEBHOOK_SECRET": "s1,s2", "KAFKA_PASSWORD": "pw"})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, secret := range []string{"supersecret", "s1", "pw\n"} {
		if strings.Contains(s, secret) {
			t.Errorf("secret %q printed:\n%s", secret, s)
		}
	}
	for _, want := range []string{"RHOMBUS_API_KEY=******\n", "WEBHOOK_SECRET=****** (2 values)\n", "BRIDGE_LEASE=nats\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}

func TestKafkaLeaseWithSASLIsAccepted(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "BRIDGE_SINKS": "kafka", "BRIDGE_LEASE": "kafka",
		"KAFKA_BROKERS": "b:9092", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_USERNAME": "u"})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatalf("Kafka lease with SASL: %v", err)
	}
	if c.Kafka.StateTopic != "rhombus-bridge.state" || c.Kafka.SASLMechanism != "scram-sha-512" {
		t.Fatalf("state topic %q, mechanism %q", c.Kafka.StateTopic, c.Kafka.SASLMechanism)
	}
}

func TestStateTopicChecked(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "KAFKA_STATE_TOPIC": "bad topic"})
	if _, err := Load(ModeRun); err == nil || !strings.Contains(err.Error(), "KAFKA_STATE_TOPIC") {
		t.Fatalf("want a KAFKA_STATE_TOPIC problem, got %v", err)
	}
}
