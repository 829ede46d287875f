package pipeline

import "sync"

// Watermark tracks live events from the moment they are queued to their acknowledgement
// and yields the newest timestamp T such that every live event queued before any event
// with timestamp T has been acknowledged. A restart or another replica resumes backfill
// from T: nothing older can be missing.
//
// While a gap is open (see Hold) the mark does not pass the point where the gap began, so
// a watermark persisted during an unrecovered gap never claims the gap was delivered.
type Watermark struct {
	mu      sync.Mutex
	next    uint64           // sequence number of the next event
	low     uint64           // lowest sequence number not yet acknowledged
	pending map[uint64]int64 // acknowledged out of order: seq → timestamp
	mark    int64
	hold    int64         // >0: the mark reported is at most this
	idle    chan struct{} // handed out by Drained while events are outstanding
}

// NewWatermark starts a tracker at mark (the persisted watermark, or 0).
func NewWatermark(mark int64) *Watermark {
	return &Watermark{pending: map[uint64]int64{}, mark: mark}
}

// begin registers a queued event and returns its sequence number.
func (w *Watermark) begin() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.next
	w.next++
	return s
}

// done records the acknowledgement of seq (event timestamp ts, 0 when unknown) and
// advances the mark over the contiguous acknowledged prefix.
func (w *Watermark) done(seq uint64, ts int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[seq] = ts
	for {
		t, ok := w.pending[w.low]
		if !ok {
			break
		}
		delete(w.pending, w.low)
		w.low++
		if t > w.mark {
			w.mark = t
		}
	}
	if w.low == w.next && w.idle != nil {
		close(w.idle)
		w.idle = nil
	}
}

// Drained returns a channel closed once no live event is outstanding (at once if none is
// now): what a leader handing over waits for.
func (w *Watermark) Drained() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.low == w.next {
		return closed
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	return w.idle
}

// closed is a channel that is always closed.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Mark is the current watermark in Unix milliseconds (0: none yet).
func (w *Watermark) Mark() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hold > 0 && w.hold < w.mark {
		return w.hold
	}
	return w.mark
}

// Hold pins the reported mark at its current value (or at ms, if lower and positive)
// until Release: a gap has opened and is not recovered yet. Holding again keeps the
// lowest pin.
func (w *Watermark) Hold(ms int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pin := w.mark
	if ms > 0 && (pin == 0 || ms < pin) {
		pin = ms
	}
	if pin <= 0 {
		pin = 1 // nothing delivered yet: still hold
	}
	if w.hold == 0 || pin < w.hold {
		w.hold = pin
	}
}

// Release lets the mark move again (the gap was recovered).
func (w *Watermark) Release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = 0
}

// Reset starts the tracker again at mark (a new term as leader, from the shared store).
func (w *Watermark) Reset(mark int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mark, w.hold = mark, 0
}

// Outstanding is the number of live events queued but not yet acknowledged.
func (w *Watermark) Outstanding() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.next - w.low)
}
