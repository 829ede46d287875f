package pipeline

import (
	"sync"
	"sync/atomic"
)

// room tells waiters when the live queue has room again (at most half full): after an
// overflow, the bridge backfills the gap once live events flow again.
type room struct {
	mu    sync.Mutex
	ch    chan struct{} // handed out by Room while the queue is more than half full
	armed atomic.Bool   // ch != nil: the dispatcher checks the depth after each take
}

// Room returns a channel closed once the live queue is at most half full (at once if it
// is now).
func (p *Pipeline) Room() <-chan struct{} {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	if p.room.ch == nil {
		p.room.ch = make(chan struct{})
		p.room.armed.Store(true)
	}
	ch := p.room.ch
	if p.roomy() { // checked after arming, so a take in between cannot be missed
		p.room.release()
	}
	return ch
}

func (p *Pipeline) roomy() bool { return len(p.queue) <= cap(p.queue)/2 }

// took accounts for one event taken from the queue, waking Room's waiters when there is
// room again.
func (p *Pipeline) took() {
	p.m.queueDepth.Dec()
	if p.room.armed.Load() && p.roomy() {
		p.room.mu.Lock()
		p.room.release()
		p.room.mu.Unlock()
	}
}

// release closes the waiters' channel; r.mu is held.
func (r *room) release() {
	if r.ch != nil {
		close(r.ch)
		r.ch = nil
		r.armed.Store(false)
	}
}
