package watermark

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

// Bucket is the JetStream KV bucket holding the shared watermark (one key per
// deployment and org).
const Bucket = "rhombus_bridge_state"

// KV keeps the watermark in JetStream KV, where every replica reads it.
type KV struct {
	kv  jetstream.KeyValue
	key string
}

// NewKV creates or updates the bucket and returns the store of key (the caller scopes it
// by deployment and org).
func NewKV(ctx context.Context, js jetstream.JetStream, key string, replicas int) (*KV, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1,
		Replicas: replicas, Description: "rhombus-bridge shared state (watermark per org)"})
	if err != nil {
		return nil, fmt.Errorf("state bucket %s: %w", Bucket, err)
	}
	return &KV{kv: kv, key: key}, nil
}

// Key is the store's key in the bucket.
func (w *KV) Key() string { return w.key }

// Load returns the saved watermark (0: none was).

func (w *KV) Load(ctx context.Context) (int64, error) {
	e, err := w.kv.Get(ctx, w.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("watermark: %w", err)
	}
	return strconv.ParseInt(string(e.Value()), 10, 64)
}

// Save stores ms as the watermark.
func (w *KV) Save(ctx context.Context, ms int64) error {
	_, err := w.kv.Put(ctx, w.key, []byte(strconv.FormatInt(ms, 10)))
	return err
}

// File keeps the watermark in a local file (deployments without NATS: one
// replica, or replicas that accept backfill from their own last view after failover).
type File struct{ path string }

// NewFile keeps the watermark of org in a file under dir.
func NewFile(dir, deployment, org string) (*File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("watermark dir: %w", err)
	}
	name := "watermark-" + event.Token(org) // the legacy deployment's name, kept
	if deployment != "" && deployment != config.LegacyDeployment {
		name = "watermark-" + deployment + "-" + event.Token(org)
	}
	return &File{path: filepath.Join(dir, name)}, nil
}

// Load returns the saved watermark (0: none was).
func (w *File) Load(context.Context) (int64, error) {
	b, err := os.ReadFile(w.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// Save writes ms to the file atomically (a rename).
func (w *File) Save(_ context.Context, ms int64) error {
	tmp := w.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(ms, 10)+"\n"), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, w.path)
}
