package sim

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// idGen makes Rhombus-style uuids (22 characters of URL-safe base64) from a seed.
type idGen struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newIDGen(seed uint64) *idGen {
	return &idGen{rng: rand.New(rand.NewPCG(seed, 0x72686f6d))}
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func (g *idGen) uuid() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := make([]byte, 22)
	for i := range b {
		b[i] = idAlphabet[g.rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

func (g *idGen) next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rng.Uint64() | 1
}

func (g *idGen) intn(n int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rng.IntN(n)
}

// Camera is one simulated camera, as getMinimalCameraStateList lists it.
type Camera struct {
	UUID             string `json:"uuid"`
	Name             string `json:"name"`
	LocationUUID     string `json:"locationUuid"`
	ConnectionStatus string `json:"connectionStatus"`
	HealthStatus     string `json:"healthStatus"`
}

var cameraPlaces = []string{"Entrance", "Parking Lot", "Lobby", "Loading Dock", "Warehouse", "Hallway", "Back Door", "Server Room"}

func makeCameras(g *idGen, n int) []Camera {
	locs := []string{g.uuid(), g.uuid()}
	out := make([]Camera, n)
	for i := range out {
		out[i] = Camera{
			UUID:             g.uuid(),
			Name:             fmt.Sprintf("Camera %d - %s", i+1, cameraPlaces[i%len(cameraPlaces)]),
			LocationUUID:     locs[i%len(locs)],
			ConnectionStatus: "GREEN",
			HealthStatus:     "GREEN",
		}
	}
	return out
}

// Cameras returns the simulated cameras.
func (s *Server) Cameras() []Camera {
	return append([]Camera(nil), s.cameras...)
}
