package webhook

import "sync"

// admission is what track.enter decided.
type admission int

const (
	admitted admission = iota
	busy               // Concurrency requests already in progress: 429
	draining           // shutting down: 503
)

// track counts the requests in progress, bounds them and lets a drain wait for them.
type track struct {
	mu       sync.Mutex
	n, max   int
	draining bool
	idle     chan struct{} // closed when draining and n reaches 0
}

func (t *track) enter() admission {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.draining:
		return draining
	case t.n >= t.max:
		return busy
	}
	t.n++
	return admitted
}

func (t *track) leave() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// drain refuses new requests from now on and returns a channel closed once the ones in
// progress have finished.
func (t *track) drain() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.draining = true
	ch := make(chan struct{})
	if t.n == 0 {
		close(ch)
	} else if t.idle != nil {
		ch = t.idle
	} else {
		t.idle = ch
	}
	return ch
}

func (t *track) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

func (t *track) isDraining() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.draining
}
