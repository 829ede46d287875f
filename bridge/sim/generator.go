package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Mix weighs the kinds of event the generator makes. The zero Mix is DefaultMix.
type Mix struct {
	Flat         int `json:"flat"`         // flat policy alerts
	Nested       int `json:"nested"`       // nested policy alerts (entityUuid empty)
	NestedBare   int `json:"nestedBare"`   // nested alerts without timestampMs or details
	DeviceConfig int `json:"deviceConfig"` // DEVICE_CONFIG updates (not alerts)
	Unknown      int `json:"unknown"`      // an entity the bridge does not know (DOOR_STATE)
}

// DefaultMix is a realistic mix: mostly alerts, both shapes, some other changes.
var DefaultMix = Mix{Flat: 50, Nested: 25, NestedBare: 5, DeviceConfig: 15, Unknown: 5}

func (m Mix) total() int { return m.Flat + m.Nested + m.NestedBare + m.DeviceConfig + m.Unknown }

// GenConfig drives RunGenerator.
type GenConfig struct {
	Rate  float64 `json:"rate"`  // events per second; ≤ 0: as fast as possible
	Count int     `json:"count"` // events to make; ≤ 0: until ctx ends
	Mix   Mix     `json:"mix"`
	Seed  uint64  `json:"seed"` // same seed, same uuids and choices (0: drawn from the server's seed)
}

// GenResult counts what a generator run made.
type GenResult struct {
	Events  int `json:"events"`  // payloads made (alerts and others)
	Alerts  int `json:"alerts"`  // policy alerts created (all in the REST history)
	Emitted int `json:"emitted"` // payloads that reached at least one subscriber
}

// The triggers the generator draws from.
var triggers = []string{
	"PERSON_DETECTED", "MOTION_DETECTED", "VEHICLE_DETECTED", "LOITERING",
	"FACE_DETECTED", "LICENSE_PLATE_DETECTED", "CROWD_DETECTED", "TAILGATING",
}

type generator struct {
	s   *Server
	rng *rand.Rand
	ids *idGen
	mix Mix
	res GenResult
}

// RunGenerator makes a stream of events at cfg.Rate until cfg.Count are made (nil), ctx
// ends (nil when Count ≤ 0, else the wrapped ctx error) or the server closes. Every alert
// is created with CreateAlert, so it is in the REST history whether or not it went live.
func (s *Server) RunGenerator(ctx context.Context, cfg GenConfig) (GenResult, error) {
	if cfg.Mix.total() <= 0 {
		cfg.Mix = DefaultMix
	}
	if cfg.Seed == 0 {
		cfg.Seed = s.ids.next() // deterministic given the server's seed, new for every run
	}
	ctx, stop := mergeDone(ctx, s.ctx)
	defer stop()
	g := &generator{s: s, rng: rand.New(rand.NewPCG(cfg.Seed, 0x67656e)), ids: newIDGen(cfg.Seed ^ 0x67656e6572), mix: cfg.Mix}
	started := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := 0; cfg.Count <= 0 || i < cfg.Count; i++ {
		if cfg.Rate > 0 {
			due := started.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return g.res, g.ended(ctx, cfg)
				case <-timer.C:
				}
			}
		}
		if ctx.Err() != nil {
			return g.res, g.ended(ctx, cfg)
		}
		g.one()
	}
	return g.res, nil
}

func (g *generator) ended(ctx context.Context, cfg GenConfig) error {
	if cfg.Count <= 0 {
		return nil
	}
	return fmt.Errorf("sim: generator stopped after %d of %d events: %w", g.res.Events, cfg.Count, ctx.Err())
}

// one makes a single event of a kind drawn from the mix.
func (g *generator) one() {
	m := g.mix
	r := g.rng.IntN(m.total())
	g.res.Events++
	switch {
	case r < m.Flat:
		g.alert(ShapeFlat)
	case r < m.Flat+m.Nested:
		g.alert(ShapeNested)
	case r < m.Flat+m.Nested+m.NestedBare:
		g.alert(ShapeNestedBare)
	case r < m.Flat+m.Nested+m.NestedBare+m.DeviceConfig:
		g.emit(g.deviceConfig())
	default:
		g.emit(g.unknown())
	}
}

func (g *generator) alert(sh Shape) {
	cam := g.s.cameras[g.rng.IntN(len(g.s.cameras))]
	trig := []string{triggers[g.rng.IntN(len(triggers))]}
	if g.rng.IntN(4) == 0 {
		if t2 := triggers[g.rng.IntN(len(triggers))]; t2 != trig[0] {
			trig = append(trig, t2)
		}
	}
	a := g.s.CreateAlert(Alert{
		UUID: g.ids.uuid(), DeviceUUID: cam.UUID, LocationUUID: cam.LocationUUID,
		Triggers: trig, DurationSec: float64(1+g.rng.IntN(300)) / 10, Shape: sh,
		TextDescription: describe(trig, cam.Name),
	})
	g.res.Alerts++
	if a.Live > 0 {
		g.res.Emitted++
	}
}

func (g *generator) emit(payload []byte) {
	if g.s.Emit(payload) > 0 {
		g.res.Emitted++
	}
}

func (g *generator) deviceConfig() []byte {
	cam := g.s.cameras[g.rng.IntN(len(g.s.cameras))]
	b, _ := json.Marshal(map[string]any{
		"entity": "DEVICE_CONFIG", "entityUuid": cam.UUID, "type": "UPDATE",
		"deviceUuid": cam.UUID, "timestampMs": time.Now().UnixMilli(),
	})
	return b
}

func (g *generator) unknown() []byte {
	b, _ := json.Marshal(map[string]any{
		"entity": "DOOR_STATE", "entityUuid": g.ids.uuid(), "type": "UPDATE",
		"timestampMs": time.Now().UnixMilli(),
	})
	return b
}

// mergeDone returns a context that ends when either a or b does.
func mergeDone(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	var once sync.Once
	return ctx, func() { once.Do(func() { stop(); cancel() }) }
}
