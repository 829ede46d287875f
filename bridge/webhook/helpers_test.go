package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the org-webhook signature
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

const (
	org     = "ORG1"
	secret1 = "s3cret-one"
	secret2 = "s3cret-two"
	stream  = "RHOMBUS"
)

// alertBody is the contract's org activity webhook (fixture webhook_org_activity) for
// the alert uuid.
func alertBody(uuid string) []byte {
	return []byte(`{"summary":"Movement detected at HQ","deviceUuid":"AAAAAAAAAAAAAAAAAAAAAA",` +
		`"clipLocationMap":{"AAAAAAAAAAAAAAAAAAAAAA":"us-west-2"},"alertUuid":"` + uuid + `",` +
		`"activityTrigger":"MOTION","location":"CCCCCCCCCCCCCCCCCCCCCC","durationSec":8,"version":"2",` +
		`"timestampMs":1646942680190,"thumbnailLocation":"us-west-2"}`)
}

func sign1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func sign256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newSink is the real JetStream sink on e.
func newSink(t testing.TB, e *natstest.Server) *natsjs.Sink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := natsjs.New(ctx, natsjs.Config{URL: e.URL(), Stream: stream, AckTimeout: 500 * time.Millisecond,
		Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// env is a handler on a real JetStream behind a real HTTP server.
type env struct {
	nats *natstest.Server
	sink *natsjs.Sink
	h    *webhook.Handler
	url  string
}

func newEnv(t testing.TB, mod func(*webhook.Config)) *env {
	t.Helper()
	e := &env{nats: natstest.Start(t)}
	e.sink = newSink(t, e.nats)
	cfg := webhook.Config{Secrets: []string{secret1, secret2}, AckTimeout: 2 * time.Second,
		OrgUUID: func() string { return org }, Logger: quiet()}
	if mod != nil {
		mod(&cfg)
	}
	// The handler publishes through the pipeline, as in the bridge: the sink makes one
	// attempt per Publish and the pipeline retries until the handler's AckTimeout.
	p, err := pipeline.New(pipeline.Config{Logger: quiet(), RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}, e.sink)
	if err != nil {
		t.Fatal(err)
	}
	if e.h, err = webhook.New(cfg, p); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	e.url = srv.URL + webhook.DefaultPath
	return e
}

// post sends body with the given headers and returns the response (body read).
func post(t testing.TB, url string, body []byte, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func signed1(body []byte) map[string]string {
	return map[string]string{webhook.HeaderSHA1: sign1(secret1, body)}
}

// messages returns every message stored in the stream.
func messages(t testing.TB, url string) []jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *m)
	}
	return out
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
