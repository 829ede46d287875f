package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// StateBucket is the JetStream KV bucket holding the shared watermark (one key per
// deployment and org, see ScopedName).
const StateBucket = "rhombus_bridge_state"

// kvWatermark keeps the watermark in JetStream KV, where every replica reads it.
type kvWatermark struct {
	kv  jetstream.KeyValue
	key string
}

func newKVWatermark(ctx context.Context, js jetstream.JetStream, deployment, org string, replicas int) (*kvWatermark, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: StateBucket, History: 1,
		Replicas: replicas, Description: "rhombus-bridge shared state (watermark per org)"})
	if err != nil {
		return nil, fmt.Errorf("state bucket %s: %w", StateBucket, err)
	}
	return &kvWatermark{kv: kv, key: ScopedName("watermark", deployment, org)}, nil
}

func (w *kvWatermark) Load(ctx context.Context) (int64, error) {
	e, err := w.kv.Get(ctx, w.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("watermark: %w", err)
	}
	return strconv.ParseInt(string(e.Value()), 10, 64)
}

func (w *kvWatermark) Save(ctx context.Context, ms int64) error {
	_, err := w.kv.Put(ctx, w.key, []byte(strconv.FormatInt(ms, 10)))
	return err
}

// fileWatermark keeps the watermark in a local file (deployments without NATS: one
// replica, or replicas that accept backfill from their own last view after failover).
type fileWatermark struct{ path string }

func newFileWatermark(dir, deployment, org string) (*fileWatermark, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("watermark dir: %w", err)
	}
	name := "watermark-" + event.Token(org) // the legacy deployment's name, kept
	if deployment != "" && deployment != config.LegacyDeployment {
		name = "watermark-" + deployment + "-" + event.Token(org)
	}
	return &fileWatermark{path: filepath.Join(dir, name)}, nil
}

func (w *fileWatermark) Load(context.Context) (int64, error) {
	b, err := os.ReadFile(w.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

func (w *fileWatermark) Save(_ context.Context, ms int64) error {
	tmp := w.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(ms, 10)+"\n"), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, w.path)
}
