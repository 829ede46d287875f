package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// defaultNATS runs an embedded JetStream server at nats-server's defaults (max_payload
// 1 MiB, as production NATS and the bridge's embedded server ship).
func defaultNATS(t *testing.T) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return srv.ClientURL()
}

// padded is a signed-shaped alert body of exactly n bytes.
func padded(uuid string, n int) []byte {
	b := alertBody(uuid)
	head := `{"pad":"`
	return append([]byte(head+strings.Repeat("x", n-len(b)-len(head)-1)+`",`), b[1:]...)
}

// What is answered 200 is stored whole: a body of WEBHOOK_MAX_BYTES is in the stream
// byte for byte; one byte more is 413; a body whose CloudEvent would pass the broker's
// maximum payload (its summary is repeated, escaped, in textDescription) is 413 and
// nothing is stored, rather than 200 for a truncated record (before this).
func TestStoredWholeOrRefused(t *testing.T) {
	url := defaultNATS(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink, err := natsjs.New(ctx, natsjs.Config{URL: url, Stream: stream, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sink.Close(context.Background()) }()
	h, err := webhook.New(webhook.Config{Secrets: []string{secret1}, MaxEventBytes: nc.MaxPayload(),
		OrgUUID: func() string { return org }, Logger: quiet()}, sink)
	if err != nil {
		t.Fatal(err)
	}
	_, whURL, _ := served(t, h)

	whole := padded("ALERT-WHOLE", webhook.DefaultMaxBytes)
	if len(whole) != 524288 {
		t.Fatalf("body of %d bytes", len(whole))
	}
	if resp, msg := post(t, whURL, whole, signed1(whole)); resp.StatusCode != 200 {
		t.Fatalf("body of WEBHOOK_MAX_BYTES: %d %s", resp.StatusCode, msg)
	}
	over := padded("ALERT-OVER", webhook.DefaultMaxBytes+1)
	if resp, _ := post(t, whURL, over, signed1(over)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("one byte over: %d", resp.StatusCode)
	}
	big := bytes.Replace(alertBody("ALERT-BIG"), []byte("Movement detected at HQ"),
		bytes.Repeat([]byte("<"), 200<<10), 1) // 200 KiB of body, 1.2 MiB escaped in textDescription
	if resp, msg := post(t, whURL, big, signed1(big)); resp.StatusCode != http.StatusRequestEntityTooLarge ||
		!strings.Contains(msg, "broker") {
		t.Fatalf("event past the broker's payload: %d %s", resp.StatusCode, msg)
	}
	msgs := messages(t, url)
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	if ce := decode(t, msgs[0]); !bytes.Equal(ce.Data.Raw, whole) || ce.Data.EntityUUID != "ALERT-WHOLE" {
		t.Fatalf("stored raw is %d bytes, sent %d", len(ce.Data.Raw), len(whole))
	}
}
