package natsjs_test

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// An unusable store directory is reported with its cause before the server starts. A
// regular file where the directory should be fails as root too (chmod would not).
func TestEmbeddedStoreDirUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:-1", StoreDir: filepath.Join(file, "nats"),
		Logger: quietLog})
	if err == nil || !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), "is not usable") {
		t.Fatalf("want a store-directory error wrapping ENOTDIR, got %v", err)
	}
	if errors.Is(err, natsjs.ErrListen) || strings.Contains(err.Error(), "not ready") {
		t.Fatalf("reported as a listen failure: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
}

// When nats-server itself gives up (here JetStream cannot create its storage directory,
// which a file named "jetstream" blocks), its own error comes back at once, not "not
// ready" after ReadyTimeout.
func TestEmbeddedServerErrorSurfaced(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jetstream"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	const ready = 30 * time.Second
	start := time.Now()
	_, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:-1", StoreDir: dir, ReadyTimeout: ready,
		Logger: quietLog})
	if err == nil || !strings.Contains(err.Error(), "nats-server: ") || !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("want nats-server's own JetStream error, got %v", err)
	}
	if errors.Is(err, natsjs.ErrListen) || strings.Contains(err.Error(), "not ready") {
		t.Fatalf("reported as a listen failure: %v", err)
	}
	if took := time.Since(start); took >= ready {
		t.Fatalf("took %s: waited out ReadyTimeout", took)
	}
}
