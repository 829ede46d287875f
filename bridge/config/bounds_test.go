package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/spool"
)

// rejected is every setting Load refuses although it parses: each fails or misbehaves at run
// time. want is a piece of the one problem line it must produce.
var rejected = []struct{ name, value, want string }{
	{"KAFKA_BROKERS", "localhost", `"localhost" is not host:port (missing port in address)`},
	{"KAFKA_BROKERS", "b1:9092,b2", `"b2" is not host:port`},
	{"KAFKA_BROKERS", "kafka:0", "no valid port"},
	{"KAFKA_BROKERS", "kafka:http", "no valid port"},
	{"KAFKA_BROKERS", "kafka:99999", "no valid port"},
	{"KAFKA_BROKERS", ":9092", "no valid host"},
	{"KAFKA_BROKERS", "bad host!:9092", "no valid host"},
	{"KAFKA_BROKERS", "kafka://b:9092", "is not host:port"},
	{"NATS_URL", "garbage", `"garbage" has no scheme; want nats://, tls://, ws:// or wss:// with a host`},
	{"NATS_URL", "localhost:4222", "has no scheme"},
	{"NATS_URL", "http://nats:4222", `has scheme "http"`},
	{"NATS_URL", "nats://", "has no host"},
	{"NATS_URL", "nats://u:pw@:4222", `"nats://***@:4222" has no host`},
	{"NATS_URL", "nats://nats:4222,", "is an empty entry"},
	{"NATS_URL", "nats://nats:4222,garbage", `"garbage" has no scheme`},
	{"NATS_URL", "nats://nats:70000", "no valid port"},
	{"RHOMBUS_REST_RATE", "NaN", `"NaN" is not a positive number`},
	{"RHOMBUS_REST_RATE", "Inf", `"Inf" is not a positive number`},
	{"RHOMBUS_REST_RATE", "-Inf", "not a positive number"},
	{"RHOMBUS_REST_RATE", "0", "not a positive number"},
	{"RHOMBUS_REST_RATE", "1e9", "above the maximum 1000"},
	{"RHOMBUS_CREDENTIAL_REST_RATE", "0", "not a positive number"},
	{"RHOMBUS_CREDENTIAL_REST_RATE", "1001", "above the maximum 1000"},
	{"WEBHOOK_SECRET", ",", "set but holds no secret"},
	{"WEBHOOK_SECRET", "  ,  ", "set but holds no secret"},
	{"BRIDGE_SPOOL_MAX_BYTES", "100", "100 is below the spool's minimum 65536 (0 turns the spool off)"},
	{"BRIDGE_SPOOL_MAX_BYTES", "-1", "below the minimum 0"},
	{"BRIDGE_SPOOL_MAX_AGE", "0s", "below the minimum 1s"},
	{"BRIDGE_BUFFER_EVENTS", "4000000000", "4000000000 is above the maximum 1000000 (each is held in memory)"},
	{"WEBHOOK_MAX_BYTES", "50000000000000", "above the maximum 524288 (the CloudEvent carries the body twice"},
	{"WEBHOOK_MAX_BYTES", "524289", "above the maximum 524288"},
	{"WEBHOOK_CONCURRENCY", "100000", "above the maximum 4096"},
	{"WEBHOOK_ACK_TIMEOUT", "1h", "1h0m0s is above the maximum 5m0s"},
	{"NATS_MAX_INFLIGHT", "10000000", "above the maximum 65536"},
	{"RHOMBUS_HEARTBEAT", "24h", "above the maximum 5m0s"},
	{"BRIDGE_PUBLISH_TIMEOUT", "5h", "above the maximum 5m0s"},
	{"BRIDGE_SHUTDOWN_TIMEOUT", "15h", "above the maximum 5m0s"},
	{"NATS_DUPLICATE_WINDOW", "720h", "above the maximum 24h0m0s"},
	{"NATS_STREAM_MAX_AGE", "50ms", "below JetStream's minimum 100ms"},
	{"NATS_STREAM_MAX_AGE", "1m", "NATS_DUPLICATE_WINDOW: 10m0s exceeds NATS_STREAM_MAX_AGE (1m0s)"},
	{"NATS_STREAM_MAX_BYTES", "1000", "below the minimum 1048576"},
	{"NATS_STREAM_MAX_BYTES", "0", "0 would hold nothing"},
	{"NATS_STREAM_MAX_BYTES", "-2", "below the minimum -1"},
	{"BRIDGE_DEPLOYMENT", "two words", "up to 64 letters"},
	{"HTTP_PPROF", "maybe", `"maybe" is not true or false`},
}

// TestEveryRejectedSetting: each bad value gives exactly one problem, naming its variable
// (or, for a limit that conflicts with another, the variable to change).
func TestEveryRejectedSetting(t *testing.T) {
	for _, tc := range rejected {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", tc.name: tc.value})
			_, err := Load(ModeRun)
			var joined interface{ Unwrap() []error }
			if err == nil || !errors.As(err, &joined) {
				t.Fatalf("accepted: %v", err)
			}
			if n := len(joined.Unwrap()); n != 1 {
				t.Fatalf("%d problems, want 1:\n%v", n, err)
			}
			line := joined.Unwrap()[0].Error()
			if strings.Contains(line, "\n") || !strings.Contains(line, tc.want) {
				t.Fatalf("problem %q, want one line containing %q", line, tc.want)
			}
			if !strings.HasPrefix(line, tc.name+": ") && !strings.HasPrefix(line, "NATS_DUPLICATE_WINDOW: ") {
				t.Fatalf("problem %q does not start with %s", line, tc.name)
			}
		})
	}
}

// TestBoundsAccepted: the values at each bound, and the documented special values, pass.
func TestBoundsAccepted(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k",
		"KAFKA_BROKERS":                "kafka-0.kafka.svc:9093, 10.0.0.1:9092,[::1]:9092,kafka_1:9092",
		"NATS_URL":                     "nats://u:p@a:4222,tls://b,ws://c:80/path,wss://[::1]:443",
		"RHOMBUS_REST_RATE":            "1000",
		"RHOMBUS_CREDENTIAL_REST_RATE": "1000",
		"WEBHOOK_SECRET":               "s1, s2,",
		"BRIDGE_SPOOL_MAX_BYTES":       "65536",
		"BRIDGE_BUFFER_EVENTS":         "1000000",
		"WEBHOOK_MAX_BYTES":            "524288",
		"WEBHOOK_CONCURRENCY":          "4096",
		"WEBHOOK_ACK_TIMEOUT":          "5m",
		"NATS_MAX_INFLIGHT":            "65536",
		"NATS_DUPLICATE_WINDOW":        "24h",
		"NATS_STREAM_MAX_AGE":          "24h",
		"NATS_STREAM_MAX_BYTES":        "1048576",
	})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Kafka.Brokers) != 4 || len(c.Webhook.Secrets) != 2 || c.Bridge.SpoolMaxBytes != MinSpoolBytes {
		t.Fatalf("brokers %v secrets %d spool %d", c.Kafka.Brokers, len(c.Webhook.Secrets), c.Bridge.SpoolMaxBytes)
	}
	setenv(t, map[string]string{"BRIDGE_SPOOL_MAX_BYTES": "0", "WEBHOOK_SECRET": "", "NATS_STREAM_MAX_AGE": "0s"})
	if c, err = Load(ModeRun); err != nil || c.Bridge.SpoolMaxBytes != 0 || c.Webhook.WebhookOn() {
		t.Fatalf("spool off, receiver off, unlimited stream age: %v", err)
	}
}

// TestAllRejectedAtOnce: every problem is listed in one error, one line each.
func TestAllRejectedAtOnce(t *testing.T) {
	names := map[string]bool{}
	for _, tc := range rejected {
		if !names[tc.name] && tc.name != "NATS_STREAM_MAX_AGE" { // its conflict names another variable
			names[tc.name] = true
			t.Setenv(tc.name, tc.value)
		}
	}
	t.Setenv("RHOMBUS_API_KEY", "k")
	_, err := Load(ModeRun)
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(names)+1 { // the heading, then one line per problem
		t.Errorf("%d lines for %d bad settings:\n%v", len(lines), len(names), err)
	}
	for name := range names {
		if !strings.Contains(err.Error(), "\n"+name+": ") {
			t.Errorf("no line for %s:\n%v", name, err)
		}
	}
}

// The config floor leaves the spool room to work: Open itself accepts it.
func TestSpoolFloorMatchesSpool(t *testing.T) {
	if MinSpoolBytes < spool.MinMaxBytes {
		t.Fatalf("MinSpoolBytes %d below the spool's own minimum %d", MinSpoolBytes, spool.MinMaxBytes)
	}
	s, err := spool.Open(spool.Config{Dir: t.TempDir(), MaxBytes: MinSpoolBytes})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPrintsNewSettings(t *testing.T) {
	setenv(t, map[string]string{"RHOMBUS_API_KEY": "k", "NATS_STREAM": "CTR", "NATS_STREAM_MAX_AGE": "72h",
		"NATS_STREAM_MAX_BYTES": "-1", "HTTP_PPROF": "true"})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, want := range []string{"BRIDGE_DEPLOYMENT=ctr\n", "NATS_STREAM_MAX_AGE=72h\n", "NATS_STREAM_MAX_BYTES=-1\n",
		"HTTP_PPROF=true\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}
