package webhook

import (
	"crypto/sha1" //nolint:gosec // Rhombus signs org webhooks with HMAC-SHA1
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// firstRead is the buffer a body starts in when its length is unknown or larger: a
// sender that declares a large length but sends little costs no more than this.
const firstRead = 4 << 10

// errBudget means the body budget is spent: answered 503 with Retry-After.
var errBudget = errors.New("too many webhook bodies in progress")

// budget bounds the body bytes buffered by all requests together.
type budget struct {
	mu        sync.Mutex
	used, max int64
	gauge     prometheus.Gauge // follows used
}

// take reserves n bytes; false when that would exceed the budget.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	b.gauge.Set(float64(b.used))
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.gauge.Set(float64(b.used))
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// signatureHeader reports whether h carries a signature header that could verify: hex of
// the right length for its algorithm. Checked before a byte of the body is read.
func signatureHeader(h http.Header) bool {
	return wellFormed(h[HeaderSHA256], sha256.Size) || wellFormed(h[HeaderSHA1], sha1.Size)
}

func wellFormed(vals []string, size int) bool {
	if len(vals) == 0 {
		return false
	}
	s := strings.TrimSpace(vals[0])
	var buf [sha256.Size]byte
	return len(s) == 2*size && decodeHex(buf[:size], s)
}

// readBody reads r (declaring length declared, -1 when unknown) into a buffer that grows
// with the bytes that actually arrive, never past max+1 bytes and never past the budget.
// It returns the body and the bytes reserved in b for it (to give back when the request
// is done), or a status and error: 413 past max, 408 when the read deadline passed, 503
// when the budget is spent (errBudget), 400 for another read error.
func readBody(r io.Reader, declared, max int64, b *budget) ([]byte, int64, int, error) {
	limit := max + 1 // one byte past max tells a body that is too large
	if declared >= 0 {
		limit = declared
	}
	buf, held, err := grow(nil, 0, min(limit, firstRead), b)
	for err == nil {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				break
			}
			buf, held, err = grow(buf, held, min(limit, 2*int64(cap(buf))), b)
			continue
		}
		var n int
		n, err = r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
	}
	switch {
	case errors.Is(err, errBudget):
		b.give(held)
		return nil, 0, http.StatusServiceUnavailable, err
	case err != nil && !errors.Is(err, io.EOF):
		b.give(held)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, 0, http.StatusRequestTimeout, fmt.Errorf("reading body: %w", err)
		}
		return nil, 0, http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	case int64(len(buf)) > max:
		b.give(held)
		return nil, 0, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", max)
	}
	return buf, held, 0, nil
}

// grow moves buf into a buffer of capacity size, reserved in b before the old one (held
// bytes) is given back.
func grow(buf []byte, held, size int64, b *budget) ([]byte, int64, error) {
	if !b.take(size) {
		return buf, held, errBudget
	}
	next := make([]byte, len(buf), size)
	copy(next, buf)
	b.give(held)
	return next, size, nil
}
