package composetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

var bridges = []string{"bridge-1", "bridge-2"}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, nil)
	if p.Name != "rhombus-bridge" {
		t.Errorf("project name %q", p.Name)
	}
	got := p.ServiceNames()
	slices.Sort(got)
	want := []string{"bridge-1", "bridge-2", "kafka", "nats", "sim"}
	if !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}

	nats := p.Services["nats"]
	if !strings.HasPrefix(nats.Image, "nats:2") || !slices.Contains(nats.Command, "-js") {
		t.Errorf("nats: image %q command %v, want nats:2* with -js", nats.Image, nats.Command)
	}
	kafka := p.Services["kafka"]
	kenv := env(t, p, "kafka")
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") || kenv["KAFKA_PROCESS_ROLES"] != "broker,controller" {
		t.Errorf("kafka: image %q roles %q, want apache/kafka in KRaft broker,controller", kafka.Image, kenv["KAFKA_PROCESS_ROLES"])
	}
	if !strings.Contains(kenv["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://kafka:9092") {
		t.Errorf("kafka advertises %q; the bridges dial kafka:9092", kenv["KAFKA_ADVERTISED_LISTENERS"])
	}
	for _, name := range []string{"nats", "kafka", "bridge-1", "bridge-2"} {
		hc := p.Services[name].HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("%s: no healthcheck", name)
		}
	}
	sim := p.Services["sim"]
	if sim.Build == nil || sim.Build.Target != "sim" {
		t.Errorf("sim: build %+v, want the Dockerfile's sim target", sim.Build)
	}
}

func TestComposeBridges(t *testing.T) {
	p := loadCompose(t, nil)
	ids := map[string]bool{}
	for _, name := range bridges {
		s := p.Services[name]
		e := env(t, p, name)
		if s.Build == nil || s.Build.Target != "bridge" || s.Build.Context == "" {
			t.Errorf("%s: build %+v, want the Dockerfile's bridge target", name, s.Build)
		}
		wantEnv := map[string]string{
			"BRIDGE_SINKS":    "nats,kafka",
			"BRIDGE_LEASE":    "nats",
			"RHOMBUS_WS_URL":  "ws://sim:8443/websocket",
			"RHOMBUS_API_URL": "http://sim:8443",
			"RHOMBUS_API_KEY": "sim-key",
			"NATS_URL":        "nats://nats:4222",
			"KAFKA_BROKERS":   "kafka:9092",
			"BRIDGE_DATA_DIR": "/data",
		}
		for k, v := range wantEnv {
			if e[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, e[k], v)
			}
		}
		ids[e["BRIDGE_INSTANCE_ID"]] = true
		if !slices.Equal([]string(s.HealthCheck.Test), []string{"CMD", "/rhombus-bridge", "healthcheck"}) {
			t.Errorf("%s: healthcheck %v", name, s.HealthCheck.Test)
		}
		for _, dep := range []string{"nats", "kafka"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends_on %s = %+v, want service_healthy", name, dep, d)
			}
		}
		if _, ok := s.DependsOn["sim"]; ok {
			t.Errorf("%s depends on sim: the real-Rhombus path (no sim) would start it", name)
		}
		if !hasVolumeAt(s, "/data") {
			t.Errorf("%s: no volume at /data", name)
		}
	}
	if len(ids) != len(bridges) || ids[""] {
		t.Errorf("BRIDGE_INSTANCE_ID values %v: want distinct and set", ids)
	}
}

func hasVolumeAt(s types.ServiceConfig, target string) bool {
	for _, v := range s.Volumes {
		if v.Target == target {
			return true
		}
	}
	return false
}

// TestComposeBridgeConfigValid feeds each bridge's environment to the bridge's own
// configuration parser: the compose file must describe a configuration the bridge accepts.
func TestComposeBridgeConfigValid(t *testing.T) {
	p := loadCompose(t, nil)
	for _, name := range bridges {
		for k, v := range env(t, p, name) {
			t.Setenv(k, v)
		}
		cfg, err := config.Load(config.ModeRun)
		if err != nil {
			t.Fatalf("%s: the bridge rejects its compose configuration:\n%v", name, err)
		}
		if !cfg.Bridge.Enabled("nats") || !cfg.Bridge.Enabled("kafka") || cfg.Bridge.Lease != "nats" {
			t.Errorf("%s: sinks %v lease %q", name, cfg.Bridge.Sinks, cfg.Bridge.Lease)
		}
		if !cfg.Webhook.WebhookOn() {
			t.Errorf("%s: webhook receiver off, but the simulator posts webhooks to bridge-1", name)
		}
	}
}

// TestComposeSimOptions feeds the simulator's environment to its own option parser.
func TestComposeSimOptions(t *testing.T) {
	p := loadCompose(t, nil)
	e := env(t, p, "sim")
	o, err := sim.ParseOptions(nil, func(k string) string { return e[k] }, nil)
	if err != nil {
		t.Fatalf("rhombus-sim rejects its compose environment: %v", err)
	}
	if o.Listen != "0.0.0.0:8443" || o.APIKey != "sim-key" || o.Rate <= 0 {
		t.Errorf("sim options: listen %q key %q rate %v", o.Listen, o.APIKey, o.Rate)
	}
	bridge := env(t, p, "bridge-1")
	if o.WebhookURL != "http://bridge-1:8080/webhooks/rhombus" || o.WebhookSecret != bridge["WEBHOOK_SECRET"] {
		t.Errorf("sim webhooks go to %q with secret %q; bridge-1 accepts %q", o.WebhookURL, o.WebhookSecret, bridge["WEBHOOK_SECRET"])
	}
}

// TestComposeWithEnvExample: `cp .env.example .env` changes nothing that breaks the demo
// (its empty values fall back to the simulator), and its settings reach the bridges.
func TestComposeWithEnvExample(t *testing.T) {
	p := loadCompose(t, readFile(t, ".env.example"))
	for _, name := range bridges {
		e := env(t, p, name)
		if e["RHOMBUS_WS_URL"] != "ws://sim:8443/websocket" || e["RHOMBUS_API_KEY"] != "sim-key" {
			t.Errorf("%s with .env.example: ws %q key %q", name, e["RHOMBUS_WS_URL"], e["RHOMBUS_API_KEY"])
		}
		if e["BRIDGE_SINKS"] != "nats,kafka" || e["NATS_URL"] != "nats://nats:4222" {
			t.Errorf("%s: compose wiring overridden by .env: sinks %q nats %q", name, e["BRIDGE_SINKS"], e["NATS_URL"])
		}
		if e["RHOMBUS_HEARTBEAT"] != "10s" {
			t.Errorf("%s: .env settings do not reach the bridge (RHOMBUS_HEARTBEAT=%q)", name, e["RHOMBUS_HEARTBEAT"])
		}
	}
}

// TestComposeRealRhombus is the commented path: a .env naming real Rhombus reaches the bridges.
func TestComposeRealRhombus(t *testing.T) {
	dotEnv := []byte("RHOMBUS_API_KEY=real-key\n" +
		"RHOMBUS_WS_URL=wss://ws.rhombussystems.com:8443/websocket\n" +
		"RHOMBUS_API_URL=https://api2.rhombussystems.com\n" +
		"WEBHOOK_SECRET=s1,s2\n")
	p := loadCompose(t, dotEnv)
	e := env(t, p, "bridge-2")
	if e["RHOMBUS_API_KEY"] != "real-key" || e["RHOMBUS_WS_URL"] != "wss://ws.rhombussystems.com:8443/websocket" ||
		e["RHOMBUS_API_URL"] != "https://api2.rhombussystems.com" || e["WEBHOOK_SECRET"] != "s1,s2" {
		t.Errorf("real Rhombus settings not applied: %v", e)
	}
}

// TestComposeLoaderIsStrict proves the checks above can fail: the same loader rejects an
// unknown attribute, a dependency on a missing service and a bad healthcheck duration.
func TestComposeLoaderIsStrict(t *testing.T) {
	orig := string(readFile(t, "docker-compose.yml"))
	cases := map[string][2]string{
		"unknown attribute": {"  stop_grace_period: 30s\n", "  stop_grace_period: 30s\n  stop_grace: 30s\n"},
		"missing service":   {"    kafka:\n      condition: service_healthy\n", "    kafak:\n      condition: service_healthy\n"},
		"bad duration":      {"    interval: 5s\n", "    interval: soon\n"},
	}
	for name, c := range cases {
		broken := strings.Replace(orig, c[0], c[1], 1)
		if broken == orig {
			t.Fatalf("%s: %q not found in docker-compose.yml", name, c[0])
		}
		if _, err := loadComposeBytes(t, []byte(broken), nil); err == nil {
			t.Errorf("%s: loader accepted a broken file", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
