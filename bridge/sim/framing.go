package sim

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

// Framing says how STOMP frames are laid into WebSocket messages. The zero value sends one
// frame per message; the flags combine.
type Framing uint32

const (
	// FramePacked packs the frames that are queued together (up to 16) into one message.
	FramePacked Framing = 1 << iota
	// FrameSplit splits each message's bytes at random points across 2 to 4 messages.
	FrameSplit
	// FrameLeadingEOL puts one or two EOLs (LF or CR LF) before each frame but CONNECTED.
	FrameLeadingEOL
)

// String names the flags, e.g. "packed,split"; "single" for none.
func (f Framing) String() string {
	var parts []string
	for _, n := range framingNames {
		if f&n.flag != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "single"
	}
	return strings.Join(parts, ",")
}

var framingNames = []struct {
	name string
	flag Framing
}{{"packed", FramePacked}, {"split", FrameSplit}, {"eol", FrameLeadingEOL}}

// ParseFraming reads a comma list of packed, split, eol (or single / empty for none).
func ParseFraming(s string) (Framing, error) {
	var f Framing
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(strings.ToLower(p))
		if p == "" || p == "single" {
			continue
		}
		found := false
		for _, n := range framingNames {
			if n.name == p {
				f |= n.flag
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("sim: unknown framing %q (want packed, split, eol)", p)
		}
	}
	return f, nil
}

// SetFraming changes how frames are laid into WebSocket messages, for every connection.
func (s *Server) SetFraming(f Framing) { s.framing.Store(uint32(f)) }

// Framing returns the current framing mode.
func (s *Server) Framing() Framing { return Framing(s.framing.Load()) }

// encodeFrame renders one STOMP frame with go-stomp's writer.
func encodeFrame(f *frame.Frame) []byte {
	var b bytes.Buffer
	_ = frame.NewWriter(&b).Write(f) // a bytes.Buffer does not fail
	return b.Bytes()
}

// layout turns a batch of encoded frames into the WebSocket messages to send under mode f.
func (s *Server) layout(f Framing, batch [][]byte) [][]byte {
	var msgs [][]byte
	if f&FramePacked != 0 {
		var b bytes.Buffer
		for _, fr := range batch {
			s.writeEOLs(&b, f, fr)
			b.Write(fr)
		}
		msgs = [][]byte{b.Bytes()}
	} else {
		for _, fr := range batch {
			var b bytes.Buffer
			s.writeEOLs(&b, f, fr)
			b.Write(fr)
			msgs = append(msgs, b.Bytes())
		}
	}
	if f&FrameSplit == 0 {
		return msgs
	}
	var out [][]byte
	for _, m := range msgs {
		out = append(out, s.split(m)...)
	}
	return out
}

func (s *Server) writeEOLs(b *bytes.Buffer, f Framing, fr []byte) {
	// EOLs may follow a frame (STOMP 1.2), so none goes before the first, CONNECTED.
	if f&FrameLeadingEOL == 0 || isHeartbeat(fr) || bytes.HasPrefix(fr, []byte("CONNECTED\n")) {
		return
	}
	s.mu.Lock()
	n, crlf := 1+s.rng.IntN(2), s.rng.IntN(2) == 0
	s.mu.Unlock()
	for range n {
		if crlf {
			b.WriteString("\r\n")
		} else {
			b.WriteByte('\n')
		}
	}
}

// split cuts m at 1 to 3 random points (fewer for tiny messages).
func (s *Server) split(m []byte) [][]byte {
	if len(m) < 2 {
		return [][]byte{m}
	}
	s.mu.Lock()
	cuts := 1 + s.rng.IntN(3)
	points := make([]int, 0, cuts)
	for range cuts {
		points = append(points, 1+s.rng.IntN(len(m)-1))
	}
	s.mu.Unlock()
	sortInts(points)
	var out [][]byte
	prev := 0
	for _, p := range points {
		if p > prev {
			out = append(out, m[prev:p])
			prev = p
		}
	}
	return append(out, m[prev:])
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func isHeartbeat(b []byte) bool { return len(b) == 1 && b[0] == '\n' }

// wsStream presents a WebSocket's data messages as one byte stream for frame.Reader,
// setting a read deadline from window() before every read (0: none).
type wsStream struct {
	ws     *websocket.Conn
	cur    io.Reader
	window func() time.Duration
	onRead func()
}

func (r *wsStream) Read(p []byte) (int, error) {
	for {
		if d := r.window(); d > 0 {
			_ = r.ws.SetReadDeadline(time.Now().Add(d))
		} else {
			_ = r.ws.SetReadDeadline(time.Time{})
		}
		if r.cur == nil {
			_, rd, err := r.ws.NextReader()
			if err != nil {
				return 0, err
			}
			r.cur = rd
		}
		n, err := r.cur.Read(p)
		if n > 0 {
			r.onRead()
		}
		if err == io.EOF {
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}
