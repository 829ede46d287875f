package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the org-webhook signature
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

const benchSenders = 32

// BenchmarkVerifiedWebhooks is the receiver end to end: 32 concurrent senders in this
// process POST signed org activity webhooks (each a new alert) over loopback HTTP with
// keep-alive to the handler, which verifies, maps and publishes each to an embedded
// JetStream through the natsjs sink and answers 200 after the PubAck. Reports req/s and
// the p50/p99 latency seen by the senders. Run: go test -run '^$' -bench Verified
// -benchtime 20000x ./bridge/webhook/
func BenchmarkVerifiedWebhooks(b *testing.B) {
	b.Run("handler=webhook", func(b *testing.B) {
		e := newEnv(b, func(c *webhook.Config) { c.AckTimeout = 10 * time.Second })
		benchHandler(b, e.h)
	})
	// The same handler on a bare synchronous JetStream publish (Nats-Msg-Id only, no
	// sink metrics or retries): separates the handler's cost from the sink's.
	b.Run("handler=webhook/publisher=bare", func(b *testing.B) {
		e := newEnv(b, nil)
		h, err := webhook.New(webhook.Config{Secrets: []string{secret1}, AckTimeout: 10 * time.Second,
			OrgUUID: func() string { return org }, Logger: quiet()}, barePublisher(b, e.nats.URL()))
		if err != nil {
			b.Fatal(err)
		}
		benchHandler(b, h)
	})
	// The baseline the issue quotes: read all, fresh HMAC, decode into a map, one
	// synchronous JetStream publish per request, on the same machine in the same run.
	b.Run("handler=naive", func(b *testing.B) {
		e := newEnv(b, nil)
		benchHandler(b, naiveHandler(b, e.nats.URL()))
	})
}

func benchHandler(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + webhook.DefaultPath
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders,
		DisableCompression: true}}
	bodies, sigs := benchBodies(b.N)
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range benchSenders {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
				t0 := time.Now()
				if !send(client, url, bodies[i], sigs[i]) {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d webhooks not answered 200", n)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}

func benchBodies(n int) ([][]byte, []string) {
	bodies, sigs := make([][]byte, n), make([]string, n)
	round := time.Now().UnixNano()
	for i := range bodies {
		bodies[i] = alertBody(fmt.Sprintf("bench-%d-%08d", round, i))
		sigs[i] = sign1(secret1, bodies[i])
	}
	return bodies, sigs
}

func send(c *http.Client, url string, body []byte, sig string) bool {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header[webhook.HeaderSHA1] = []string{sig}
	req.Header["Content-Type"] = []string{"application/json"}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// naiveHandler is a straightforward receiver: no limits, no pooling, a synchronous
// publish per request.
func naiveHandler(b *testing.B, natsURL string) http.Handler {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		m := hmac.New(sha1.New, []byte(secret1))
		m.Write(raw)
		if hex.EncodeToString(m.Sum(nil)) != r.Header.Get(webhook.HeaderSHA1) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		uuid, _ := p["alertUuid"].(string)
		ev, err := event.Build(org, event.ViaWebhook, v1.ChangeData{Entity: "POLICY_ALERT", Type: "CREATE",
			EntityUUID: uuid, Raw: raw})
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		msg := &nats.Msg{Subject: ev.Subject("rhombus"), Data: ev.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(200)
	})
}

// bare publishes with one synchronous JetStream publish per event.
type bare struct{ js jetstream.JetStream }

func barePublisher(b *testing.B, natsURL string) bare {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return bare{js}
}

func (p bare) Publish(ctx context.Context, ev event.Event) error {
	msg := &nats.Msg{Subject: ev.Subject("rhombus"), Data: ev.Body, Header: nats.Header{jetstream.MsgIDHeader: {ev.ID}}}
	_, err := p.js.PublishMsg(ctx, msg)
	return err
}
