//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/result"
)

// sender posts signed webhooks to one receiver with webhookSenders keep-alive
// connections and keeps what it measured: each request's latency, the time its batches
// took and the receiver process's CPU over them.
type sender struct {
	p      *proc
	url    string
	stream string
	client *http.Client
	bodies [][]byte
	sigs   []string
	base   uint64 // messages in stream before the phase
	lat    []time.Duration
	busy   time.Duration
	cpu    time.Duration
}

func newSender(p *proc, url, stream string) *sender {
	tr := &http.Transport{MaxIdleConnsPerHost: webhookSenders, MaxConnsPerHost: webhookSenders, DisableCompression: true}
	return &sender{p: p, url: url, stream: stream, client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// batch sends bodies[lo:hi] from webhookSenders goroutines; every answer must be 200.
func (s *sender) batch(lo, hi int) error {
	c0, err := s.p.cpu()
	if err != nil {
		return err
	}
	lat := make([]time.Duration, hi-lo)
	var next, failed atomic.Int64
	var first atomic.Value
	t0 := time.Now()
	var wg sync.WaitGroup
	for range webhookSenders {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(lat); i = int(next.Add(1) - 1) {
				t := time.Now()
				if err := s.post(lo + i); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	s.busy += time.Since(t0)
	s.lat = append(s.lat, lat...)
	c1, err := s.p.cpu()
	s.cpu += c1 - c0
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%s: %d of %d webhooks not answered 200, first: %v", s.p.name, n, len(lat), first.Load())
	}
	return err
}

// post sends body i and reads the whole answer.
func (s *sender) post(i int) error {
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(s.bodies[i]))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sim.HeaderSHA1, s.sigs[i])
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	return err
}

// check waits until the stream holds every request answered 200, and no more.
func (s *sender) check(ctx context.Context, js jetstream.JetStream) error {
	want := s.base + uint64(len(s.lat))
	if err := waitStored(ctx, js, s.stream, want, time.Minute); err != nil {
		return err
	}
	if got, err := stored(ctx, js, s.stream); err != nil || got != want {
		return fmt.Errorf("%s holds %d messages, want %d (%v)", s.stream, got, want, err)
	}
	s.client.CloseIdleConnections()
	return nil
}

func (s *sender) figures() result.Webhook {
	if len(s.lat) == 0 {
		return result.Webhook{}
	}
	slices.Sort(s.lat)
	return result.Webhook{PerSec: float64(len(s.lat)) / s.busy.Seconds(),
		P50ms: ms(s.lat[len(s.lat)/2]), P99ms: ms(s.lat[len(s.lat)*99/100]),
		CPUus: float64(s.cpu.Microseconds()) / float64(len(s.lat))}
}

// webhookBodies are n org-activity webhooks (fixture webhook_org_activity's shape, from
// the simulator) for the feeder's cameras, each a new alert, and their signatures.
func webhookBodies(cams []sim.Camera, name string, n int) ([][]byte, []string) {
	bodies, sigs := make([][]byte, n), make([]string, n)
	now := time.Now().UnixMilli()
	for i := range bodies {
		c := cams[i%len(cams)]
		a := sim.Alert{UUID: fmt.Sprintf("webhook-%s-%08d", name, i), DeviceUUID: c.UUID, LocationUUID: c.LocationUUID,
			TimestampMs: now + int64(i), DurationSec: 8, Triggers: []string{"MOTION"}, TextDescription: "Movement detected at HQ"}
		bodies[i] = a.WebhookBody()
		sigs[i] = sim.SignSHA1(webhookSecret, bodies[i])
	}
	return bodies, sigs
}

// cameras asks the feeder's REST API for its cameras.
func cameras(api string) ([]sim.Camera, error) {
	req, err := http.NewRequest(http.MethodPost, api+"/api/camera/getMinimalCameraStateList", bytes.NewReader([]byte("{}")))
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{"X-Auth-Apikey": {"bench-key"}, "X-Auth-Scheme": {"api-token"}, "Content-Type": {"application/json"}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cameras: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		CameraStates []sim.Camera `json:"cameraStates"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.CameraStates) == 0 {
		return nil, fmt.Errorf("cameras: HTTP %d, %d cameras: %v", resp.StatusCode, len(out.CameraStates), err)
	}
	return out.CameraStates, nil
}
