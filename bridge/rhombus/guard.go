package rhombus

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrFrameTooLarge is wrapped when a STOMP frame from the server exceeds the frame limit
// (by its content-length header or its actual size). go-stomp would allocate whatever
// content-length says, so WSConn checks before handing the bytes on.
var ErrFrameTooLarge = errors.New("stomp frame too large")

// MaxOversizeHead bounds the part of an oversize frame kept for the invalid subject.
const MaxOversizeHead = 16 << 10

// FrameTooLargeError is the error of an oversize frame: it keeps the frame's first bytes
// (at most MaxOversizeHead) so that they can be recorded on the invalid subject.
type FrameTooLargeError struct {
	Head   []byte // the frame's first bytes, command and headers included
	Reason string
}

func (e *FrameTooLargeError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrFrameTooLarge) true.
func (e *FrameTooLargeError) Unwrap() error { return ErrFrameTooLarge }

// frameGuard follows the STOMP frame boundaries of the incoming stream and fails once a
// frame (headers or body) would exceed max bytes.
type frameGuard struct {
	head   []byte // the current frame's first bytes (MaxOversizeHead)
	max    int64
	state  int   // guardIdle, guardHeaders, guardBodyLen, guardBodyNul, guardNul
	size   int64 // bytes of the current frame so far
	line   []byte
	first  bool  // the current line is the command line
	cl     int64 // content-length, -1 when absent
	remain int64 // body bytes left (guardBodyLen)
}

const (
	guardIdle = iota
	guardHeaders
	guardBodyLen
	guardBodyNul
	guardNul
)

const maxHeaderLine = 64 // only the start of a header line is kept: enough for content-length

func (g *frameGuard) check(p []byte) error {
	for _, b := range p {
		if err := g.step(b); err != nil {
			return err
		}
	}
	return nil
}

func (g *frameGuard) step(b byte) error {
	if g.state != guardIdle {
		g.size++
		if g.size > g.max {
			return g.tooLarge(fmt.Sprintf("%s: over %d bytes", ErrFrameTooLarge, g.max))
		}
		if len(g.head) < MaxOversizeHead {
			g.head = append(g.head, b)
		}
	}
	switch g.state {
	case guardIdle:
		if b != '\n' && b != '\r' {
			g.state, g.size, g.cl, g.first, g.line = guardHeaders, 1, -1, true, append(g.line[:0], b)
			g.head = append(g.head[:0], b)
		}
	case guardHeaders:
		return g.header(b)
	case guardBodyLen:
		g.remain--
		if g.remain <= 0 {
			g.state = guardNul
		}
	case guardBodyNul, guardNul:
		if b == 0 {
			g.state = guardIdle
		}
	}
	return nil
}

func (g *frameGuard) header(b byte) error {
	if b != '\n' {
		if len(g.line) < maxHeaderLine {
			g.line = append(g.line, b)
		}
		return nil
	}
	line := bytes.TrimSuffix(g.line, []byte{'\r'})
	g.line = g.line[:0]
	switch {
	case g.first:
		g.first = false
	case len(line) == 0: // end of headers
		g.state = guardBodyNul
		if g.cl >= 0 {
			g.state, g.remain = guardBodyLen, g.cl
			if g.cl == 0 {
				g.state = guardNul
			}
		}
	case g.cl < 0 && bytes.HasPrefix(line, []byte("content-length:")):
		n, err := strconv.ParseInt(string(line[len("content-length:"):]), 10, 64)
		if err == nil && (n < 0 || n > g.max) {
			return g.tooLarge(fmt.Sprintf("%s: content-length %d over %d bytes", ErrFrameTooLarge, n, g.max))
		}
		if err == nil {
			g.cl = n
		}
	}
	return nil
}

// tooLarge is the error for the current frame, with a copy of its first bytes.
func (g *frameGuard) tooLarge(reason string) *FrameTooLargeError {
	return &FrameTooLargeError{Head: bytes.Clone(g.head), Reason: reason}
}
