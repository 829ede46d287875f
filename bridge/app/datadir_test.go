package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// An unusable BRIDGE_DATA_DIR with the embedded NATS is reported with its real cause, at
// once, instead of "not ready within 10s". The data directory is a regular file: that
// fails as root too, where a read-only mode would not.
func TestUnusableDataDirReported(t *testing.T) {
	s := startSim(t, sim.Config{OrgUUID: "ORG-DATADIR"})
	cfg := testConfig(t, s, "") // embedded NATS
	cfg.NATS.EmbeddedListen = "127.0.0.1:0"
	cfg.Bridge.DataDir = filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(cfg.Bridge.DataDir, []byte("not a directory"), 0o640); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Options{Logger: quiet(), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = a.Run(ctx)
	if err == nil {
		t.Fatal("Run succeeded on a data directory that is a file")
	}
	msg := err.Error()
	for _, want := range []string{"BRIDGE_DATA_DIR=" + cfg.Bridge.DataDir, "not a directory", "is not usable"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(msg, "not ready") {
		t.Errorf("reported as a readiness timeout: %v", err)
	}
}
