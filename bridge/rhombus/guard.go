package rhombus

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrFrameTooLarge is wrapped when a STOMP frame from the server exceeds a limit: the
// frame size, a header line, the header count or header bytes, or a content-length that
// is over the frame size or cannot be read as a plain number. go-stomp allocates whatever
// it is told (content-length up front, lines and unsized bodies as they grow), so WSConn
// checks every byte before handing it on.
var ErrFrameTooLarge = errors.New("stomp frame too large")

// ErrFrameInvalid is wrapped when a frame from the server is not one go-stomp can read
// (unknown command, header line without a name, no NUL after a sized body). go-stomp would
// fail on it at the same byte; the guard refuses it first so that it says why.
var ErrFrameInvalid = errors.New("stomp frame invalid")

// Limits on one STOMP frame from the server besides the frame size (FeedConfig.ReadLimit).
// Rhombus frames carry a handful of short headers; these leave ample room.
const (
	MaxHeaderLine   = 8 << 10  // one command or header line, its EOL included
	MaxHeaders      = 100      // header lines per frame
	MaxHeaderBytes  = 64 << 10 // the command and header lines of one frame, EOLs included
	maxLengthDigits = 20       // a longer content-length value is refused (zeros beyond reason)
)

// MaxOversizeHead bounds the part of a refused frame kept for the invalid subject.
const MaxOversizeHead = 16 << 10

// FrameTooLargeError is the error of a frame over a limit: it keeps the frame's first
// bytes (at most MaxOversizeHead) so that they can be recorded on the invalid subject.
type FrameTooLargeError struct {
	Head   []byte // the frame's first bytes, command and headers included
	Reason string
}

func (e *FrameTooLargeError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrFrameTooLarge) true.
func (e *FrameTooLargeError) Unwrap() error { return ErrFrameTooLarge }

// FrameInvalidError is the error of a frame go-stomp cannot read, with its first bytes.
type FrameInvalidError struct {
	Head   []byte // the frame's first bytes (at most MaxOversizeHead)
	Reason string
}

func (e *FrameInvalidError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrFrameInvalid) true.
func (e *FrameInvalidError) Unwrap() error { return ErrFrameInvalid }

// RefusedFrame is a frame the guard refused: FrameTooLargeError or FrameInvalidError.
// Nothing is dropped silently: its head belongs on the invalid subject.
type RefusedFrame interface {
	error
	FrameHead() (head []byte, reason string)
}

// FrameHead returns the refused frame's first bytes and why it was refused.
func (e *FrameTooLargeError) FrameHead() ([]byte, string) { return e.Head, e.Reason }

// FrameHead returns the refused frame's first bytes and why it was refused.
func (e *FrameInvalidError) FrameHead() ([]byte, string) { return e.Head, e.Reason }

// guardLimits are a frameGuard's limits; tests shrink them.
type guardLimits struct {
	frame       int64 // whole frame: command, headers, body and NUL
	line        int   // one line, EOL included
	headers     int   // header lines
	headerBytes int64 // command and header lines, EOLs included
}

func newFrameGuard(maxFrame int64) frameGuard {
	return frameGuard{lim: guardLimits{frame: maxFrame, line: MaxHeaderLine, headers: MaxHeaders, headerBytes: MaxHeaderBytes}}
}

// frameGuard follows the STOMP frames of the incoming stream exactly as go-stomp's
// frame.Reader (v3) splits them, and fails at the first byte that would take a frame over
// a limit, or that go-stomp would refuse. Memory: one line and one head, both bounded.
type frameGuard struct {
	lim     guardLimits
	state   int
	head    []byte // the current frame's first bytes (MaxOversizeHead)
	line    []byte // the current line, EOL included (lim.line)
	size    int64  // bytes of the current frame so far, from its command line
	headers int    // header lines of the current frame
	sized   bool   // the frame has a content-length (the first one counts, as in go-stomp)
	remain  int64  // sized body bytes still to come
}

const (
	guardIdle    = iota // between frames: nothing of the next one seen
	guardCommand        // in a command line (or a heart-beat EOL)
	guardHeaders        // in a header line
	guardBodyLen        // in a body of content-length bytes
	guardNul            // the NUL after a sized body must come next
	guardBodyNul        // in a body that ends at the first NUL
)

// check follows p; it fails at the first offending byte.
func (g *frameGuard) check(p []byte) error {
	for len(p) > 0 {
		n, err := g.consume(p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// consume takes the start of p (at least one byte) that belongs to the current state.
func (g *frameGuard) consume(p []byte) (int, error) {
	switch g.state {
	case guardBodyLen:
		n := int(min(int64(len(p)), g.remain))
		g.remain -= int64(n)
		if g.remain == 0 {
			g.state = guardNul
		}
		return n, g.take(p[:n])
	case guardNul:
		if err := g.take(p[:1]); err != nil {
			return 0, err
		}
		if p[0] != 0 {
			return 0, g.invalid(fmt.Sprintf("%s: no NUL after a body of content-length bytes", ErrFrameInvalid))
		}
		g.reset()
		return 1, nil
	case guardBodyNul:
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			return len(p), g.take(p)
		}
		if err := g.take(p[:i+1]); err != nil {
			return 0, err
		}
		g.reset()
		return i + 1, nil
	}
	return g.consumeLine(p)
}

// consumeLine takes bytes of a command or header line, up to and including its EOL.
func (g *frameGuard) consumeLine(p []byte) (int, error) {
	n := len(p)
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		n = i + 1
	}
	if g.state == guardIdle {
		g.state = guardCommand
	}
	if len(g.line)+n > g.lim.line {
		g.keepHead(p[:n])
		return 0, g.tooLarge(fmt.Sprintf("%s: a header line over %d bytes", ErrFrameTooLarge, g.lim.line))
	}
	g.line = append(g.line, p[:n]...)
	if err := g.take(p[:n]); err != nil {
		return 0, err
	}
	if g.size > g.lim.headerBytes {
		return 0, g.tooLarge(fmt.Sprintf("%s: headers over %d bytes", ErrFrameTooLarge, g.lim.headerBytes))
	}
	if p[n-1] != '\n' {
		return n, nil
	}
	return n, g.endLine()
}

// endLine handles a whole line, trimmed of its EOL as go-stomp's readLine does.
func (g *frameGuard) endLine() error {
	line := g.line[:len(g.line)-1]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	g.line = g.line[:0]
	switch {
	case g.state == guardCommand && len(line) == 0: // a heart-beat
		g.reset()
	case g.state == guardCommand:
		if !knownCommand(line) {
			return g.invalid(fmt.Sprintf("%s: unknown command %.40q", ErrFrameInvalid, line))
		}
		g.state = guardHeaders
	case len(line) == 0:
		return g.endHeaders()
	default:
		return g.header(line)
	}
	return nil
}

// knownCommand is go-stomp's list of the commands its reader accepts.
func knownCommand(c []byte) bool {
	switch string(c) {
	case "CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN",
		"COMMIT", "ABORT", "DISCONNECT", "CONNECTED", "MESSAGE", "RECEIPT", "ERROR":
		return true
	}
	return false
}

// header checks one header line: go-stomp needs a colon after a non-empty name, and takes
// the first content-length (escapes cannot produce its name nor digits, so the raw bytes
// decide as the decoded ones would).
func (g *frameGuard) header(line []byte) error {
	g.headers++
	if g.headers > g.lim.headers {
		return g.tooLarge(fmt.Sprintf("%s: more than %d headers", ErrFrameTooLarge, g.lim.headers))
	}
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return g.invalid(fmt.Sprintf("%s: header line without a name: %.40q", ErrFrameInvalid, line))
	}
	if g.sized || string(line[:i]) != "content-length" {
		return nil
	}
	n, err := g.contentLength(line[i+1:])
	if err != nil {
		return err
	}
	g.sized, g.remain = true, n
	return nil
}

// contentLength reads a content-length value: only digits (go-stomp's strconv.ParseUint
// refuses signs, spaces, underscores and the empty string too), at most maxLengthDigits
// of them, and not over the frame size.
func (g *frameGuard) contentLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > maxLengthDigits {
		return 0, g.tooLarge(fmt.Sprintf("%s: content-length %.40q (%d bytes) is not a number of at most %d digits",
			ErrFrameTooLarge, v, len(v), maxLengthDigits))
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, g.tooLarge(fmt.Sprintf("%s: content-length %.40q is not a plain decimal number", ErrFrameTooLarge, v))
		}
		if n = n*10 + int64(d-'0'); n > g.lim.frame { // the frame limit is far below overflow
			return 0, g.tooLarge(fmt.Sprintf("%s: content-length %s over %d bytes", ErrFrameTooLarge, v, g.lim.frame))
		}
	}
	return n, nil
}

// endHeaders starts the body; a sized one must fit in the frame with its NUL, decided
// before go-stomp (which allocates the whole body at once) sees the blank line.
func (g *frameGuard) endHeaders() error {
	if !g.sized {
		g.state = guardBodyNul
		return nil
	}
	if total := g.size + g.remain + 1; total > g.lim.frame {
		return g.tooLarge(fmt.Sprintf("%s: content-length %d makes a frame of %d bytes, over %d",
			ErrFrameTooLarge, g.remain, total, g.lim.frame))
	}
	g.state = guardBodyLen
	if g.remain == 0 {
		g.state = guardNul
	}
	return nil
}

// take counts seg into the current frame and keeps the start of it.
func (g *frameGuard) take(seg []byte) error {
	g.size += int64(len(seg))
	g.keepHead(seg)
	if g.size > g.lim.frame {
		return g.tooLarge(fmt.Sprintf("%s: over %d bytes", ErrFrameTooLarge, g.lim.frame))
	}
	return nil
}

func (g *frameGuard) keepHead(seg []byte) {
	if room := MaxOversizeHead - len(g.head); room > 0 {
		g.head = append(g.head, seg[:min(room, len(seg))]...)
	}
}

// reset ends the current frame (or heart-beat).
func (g *frameGuard) reset() {
	g.state, g.size, g.headers, g.sized, g.remain = guardIdle, 0, 0, false, 0
	g.head, g.line = g.head[:0], g.line[:0]
}

// tooLarge is the error for the current frame, with a copy of its first bytes.
func (g *frameGuard) tooLarge(reason string) *FrameTooLargeError {
	return &FrameTooLargeError{Head: bytes.Clone(g.head), Reason: reason}
}

func (g *frameGuard) invalid(reason string) *FrameInvalidError {
	return &FrameInvalidError{Head: bytes.Clone(g.head), Reason: reason}
}
