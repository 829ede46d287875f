package bridgetest

import (
	"os"
	"strings"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/internal/freeport"
)

// ProcessEnv is the environment for a rhombus-bridge child process: this machine's,
// minus every variable the bridge reads (so nothing leaks in from the developer's shell),
// plus vars.
func ProcessEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !bridgeVar(name) {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

func bridgeVar(name string) bool {
	for _, p := range []string{"RHOMBUS_", "BRIDGE_", "NATS_", "KAFKA_", "WEBHOOK_", "LOG_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "HTTP_ADDR"
}

// FreeAddr is a loopback address with a port free at the time of asking, outside the
// kernel's ephemeral range (see package freeport).
func FreeAddr(t testing.TB) string {
	t.Helper()
	return freeport.Addr(t)
}
