package rhombus

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/go-stomp/stomp/v3/frame"
)

// frameReader reads STOMP frames exactly as go-stomp's frame.Reader does (the same
// frames, the same errors: FuzzFrameReader compares the two), with fewer allocations per
// frame: go-stomp unescapes every header name and value through a strings.Replacer,
// which allocates twice even when there is nothing to unescape. The frame guard (WSConn)
// has bounded every line and body before the bytes reach it.
type frameReader struct {
	br   *bufio.Reader
	line []byte   // a line longer than the buffer, assembled
	kv   []string // the frame's header names and values, collected
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(r, 4096)}
}

// unescape is go-stomp's unencoding of header names and values (STOMP 1.2 escapes).
var unescape = strings.NewReplacer("\\r", "\r", "\\n", "\n", "\\c", ":", "\\\\", "\\")

// Read reads the next frame; nil and no error for a heart-beat.
func (r *frameReader) Read() (*frame.Frame, error) {
	cmd, err := r.readLine()
	if err != nil || len(cmd) == 0 {
		return nil, err
	}
	command, ok := commandOf(cmd)
	if !ok {
		return nil, frame.ErrInvalidCommand
	}
	if err := r.readHeaders(); err != nil {
		return nil, err
	}
	f := &frame.Frame{Command: command, Header: frame.NewHeader(r.kv...)} // one allocation for them all
	clear(r.kv)
	if f.Body, err = r.readBody(f.Header); err != nil {
		return nil, err
	}
	return f, nil
}

// readHeaders reads header lines up to the empty line that ends them into r.kv.
func (r *frameReader) readHeaders() error {
	r.kv = r.kv[:0]
	for {
		line, err := r.readLine()
		if err != nil || len(line) == 0 {
			return err
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			return frame.ErrInvalidFrameFormat
		}
		r.kv = append(r.kv, headerName(line[:i]), unescaped(line[i+1:]))
	}
}

// readBody reads content-length bytes and the NUL after them, or up to the first NUL.
func (r *frameReader) readBody(h *frame.Header) ([]byte, error) {
	n, sized, err := h.ContentLength()
	if err != nil {
		return nil, err
	}
	if !sized {
		body, err := r.br.ReadBytes(0)
		if err != nil {
			return nil, err
		}
		return body[:len(body)-1], nil
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.br, body); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // as go-stomp's loop of Reads reports it
		}
		return nil, err
	}
	if nul, err := r.br.ReadByte(); err != nil {
		return nil, err
	} else if nul != 0 {
		return nil, frame.ErrInvalidFrameFormat
	}
	return body, nil
}

// readLine returns the next line without its LF or CR-LF; the slice is valid until the
// next read.
func (r *frameReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.line = append(r.line[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.line = append(r.line, line...)
		}
		line = r.line
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// commandOf returns go-stomp's constant for a STOMP command (no allocation).
func commandOf(b []byte) (string, bool) {
	for _, c := range commands {
		if string(b) == c {
			return c, true
		}
	}
	return "", false
}

var commands = [...]string{frame.MESSAGE, frame.RECEIPT, frame.ERROR, frame.CONNECTED, frame.CONNECT,
	frame.STOMP, frame.SEND, frame.SUBSCRIBE, frame.UNSUBSCRIBE, frame.ACK, frame.NACK, frame.BEGIN,
	frame.COMMIT, frame.ABORT, frame.DISCONNECT}

// headerName returns the header names of a MESSAGE frame without allocating.
func headerName(b []byte) string {
	switch string(b) {
	case frame.Destination:
		return frame.Destination
	case frame.MessageId:
		return frame.MessageId
	case frame.Subscription:
		return frame.Subscription
	case frame.ContentLength:
		return frame.ContentLength
	case frame.ContentType:
		return frame.ContentType
	}
	return unescaped(b)
}

// unescaped is go-stomp's unencodeValue: every escape starts with a backslash, so a value
// without one is taken as it is.
func unescaped(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	return unescape.Replace(string(b))
}
