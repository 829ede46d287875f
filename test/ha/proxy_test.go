package ha_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// cutMode is how a proxy cuts a replica off.
type cutMode int

const (
	// severMode closes every connection and refuses new ones (accepted, then closed at
	// once): the client sees the drop at once.
	severMode cutMode = iota + 1
	// blackholeMode keeps every connection open and swallows the bytes in both
	// directions; new connections are accepted and swallowed too (never reach the
	// server): TCP is up but nothing arrives, as in a partition without resets. The
	// client only notices through its own timeouts.
	blackholeMode
)

func (m cutMode) String() string {
	switch m {
	case severMode:
		return "sever"
	case blackholeMode:
		return "blackhole"
	}
	return "none"
}

// proxy is a TCP proxy between one bridge and NATS (or kfake) that a test can cut
// (sever or blackhole) and heal.
//
// A Kafka proxy (startKafkaProxy) also rewrites the broker addresses in Metadata and
// FindCoordinator responses to its own, so that every connection the client opens after
// bootstrapping (to the partition leaders, to the group coordinator) goes through it too.
type proxy struct {
	ln    net.Listener
	to    string
	kafka bool

	mu     sync.Mutex
	mode   cutMode // 0: passing
	closed bool
	links  map[*link]struct{}
	wg     sync.WaitGroup
}

// link is one client connection and its upstream (nil when it was accepted during a
// blackhole: it never reaches the server).
type link struct {
	c, u  net.Conn
	holed atomic.Bool // bytes are swallowed; the stream has holes, so never forward again

	mu      sync.Mutex
	pending map[int32][2]int16 // Kafka: correlation id → request key, version
}

func (l *link) close() {
	_ = l.c.Close()
	if l.u != nil {
		_ = l.u.Close()
	}
}

func startProxy(t testing.TB, to string) *proxy { return newProxy(t, to, false) }

// startKafkaProxy is startProxy for a Kafka broker (see proxy).
func startKafkaProxy(t testing.TB, to string) *proxy { return newProxy(t, to, true) }

func newProxy(t testing.TB, to string, kafka bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, to: to, kafka: kafka, links: make(map[*link]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }
func (p *proxy) url() string  { return "nats://" + p.addr() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode, closed := p.mode, p.closed
		p.mu.Unlock()
		switch {
		case closed || mode == severMode:
			_ = c.Close()
			continue
		case mode == blackholeMode:
			l := &link{c: c}
			l.holed.Store(true)
			if p.track(l, blackholeMode) {
				p.wg.Add(1)
				go p.pipe(l, io.Discard, c, nil)
			}
			continue
		}
		u, err := net.Dial("tcp", p.to)
		if err != nil {
			_ = c.Close()
			continue
		}
		l := &link{c: c, u: u, pending: make(map[int32][2]int16)}
		if !p.track(l, 0) {
			continue
		}
		p.wg.Add(2)
		if p.kafka {
			go p.pipe(l, u, c, l.requests)
			go p.pipe(l, c, u, p.responses(l))
		} else {
			go p.pipe(l, u, c, nil)
			go p.pipe(l, c, u, nil)
		}
	}
}

// track registers l unless the proxy's mode changed from want meanwhile.
func (p *proxy) track(l *link, want cutMode) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode != want {
		l.close()
		return false
	}
	p.links[l] = struct{}{}
	return true
}

// pipe copies src to dst, chunk by chunk, or frame by frame through frame when set
// (Kafka), swallowing while l is holed, until either side fails.
func (p *proxy) pipe(l *link, dst io.Writer, src net.Conn, frame func([]byte) []byte) {
	defer p.wg.Done()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	var buf []byte
	for {
		var (
			out []byte
			err error
		)
		if frame == nil {
			if buf == nil {
				buf = make([]byte, 32<<10)
			}
			var n int
			n, err = src.Read(buf)
			out = buf[:n]
		} else {
			if out, err = readFrame(src); err == nil {
				out = frame(out)
			}
		}
		if len(out) > 0 && !l.holed.Load() {
			if _, werr := dst.Write(out); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readFrame reads one Kafka frame (size prefix included).
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 64<<20 {
		return nil, errors.New("kafka proxy: frame too large")
	}
	f := make([]byte, 4+n)
	copy(f, size[:])
	_, err := io.ReadFull(r, f[4:])
	return f, err
}

// requests notes the key and version of each request, by correlation id.
func (l *link) requests(f []byte) []byte {
	if len(f) >= 12 {
		key := int16(binary.BigEndian.Uint16(f[4:]))
		ver := int16(binary.BigEndian.Uint16(f[6:]))
		corr := int32(binary.BigEndian.Uint32(f[8:]))
		l.mu.Lock()
		l.pending[corr] = [2]int16{key, ver}
		l.mu.Unlock()
	}
	return f
}

// responses rewrites the broker addresses in Metadata and FindCoordinator responses.
func (p *proxy) responses(l *link) func([]byte) []byte {
	host, portS, _ := net.SplitHostPort(p.addr())
	port, _ := strconv.Atoi(portS)
	return func(f []byte) []byte {
		if len(f) < 8 {
			return f
		}
		corr := int32(binary.BigEndian.Uint32(f[4:]))
		l.mu.Lock()
		kv, ok := l.pending[corr]
		delete(l.pending, corr)
		l.mu.Unlock()
		if !ok || (kv[0] != 3 && kv[0] != 10) { // Metadata, FindCoordinator
			return f
		}
		resp := kmsg.ResponseForKey(kv[0])
		resp.SetVersion(kv[1])
		hdr := 8 // size, correlation id
		if resp.IsFlexible() {
			n, ok := tagsLen(f[hdr:])
			if !ok {
				return f
			}
			hdr += n
		}
		if err := resp.ReadFrom(f[hdr:]); err != nil {
			return f
		}
		switch r := resp.(type) {
		case *kmsg.MetadataResponse:
			for i := range r.Brokers {
				r.Brokers[i].Host, r.Brokers[i].Port = host, int32(port)
			}
		case *kmsg.FindCoordinatorResponse:
			if r.Host != "" {
				r.Host, r.Port = host, int32(port)
			}
			for i := range r.Coordinators {
				if r.Coordinators[i].Host != "" {
					r.Coordinators[i].Host, r.Coordinators[i].Port = host, int32(port)
				}
			}
		}
		out := resp.AppendTo(append([]byte(nil), f[:hdr]...))
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		return out
	}
}

// tagsLen is the length of the tagged-field section at the start of b.
func tagsLen(b []byte) (int, bool) {
	n, i := binary.Uvarint(b)
	if i <= 0 {
		return 0, false
	}
	off := i
	for range n {
		_, i := binary.Uvarint(b[off:])
		if i <= 0 {
			return 0, false
		}
		off += i
		size, j := binary.Uvarint(b[off:])
		if j <= 0 || uint64(len(b)-off-j) < size {
			return 0, false
		}
		off += j + int(size)
	}
	return off, true
}

// cut cuts the replica off in mode.
func (p *proxy) cut(mode cutMode) {
	switch mode {
	case severMode:
		p.sever()
	case blackholeMode:
		p.blackhole()
	default:
		panic("proxy: cut mode " + mode.String())
	}
}

// sever closes every connection and refuses new ones until heal.
func (p *proxy) sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = severMode
	for l := range p.links {
		l.close()
	}
}

// blackhole swallows every byte, both ways, on every connection, open or new, until
// heal; the connections stay open.
func (p *proxy) blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = blackholeMode
	for l := range p.links {
		l.holed.Store(true)
	}
}

// heal lets connections through again. Connections that were blackholed are closed
// (their byte streams have holes, and a real network would have reset them by now);
// the client reconnects.
func (p *proxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = 0
	for l := range p.links {
		if l.holed.Load() {
			l.close()
		}
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	for l := range p.links {
		l.close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}
