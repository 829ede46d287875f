package webhook

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Rhombus signs org webhooks with HMAC-SHA1
	"crypto/sha256"
	"hash"
	"net/http"
	"strings"
)

// The signature headers Rhombus sends: lowercase hex HMAC of the raw body.
const (
	HeaderSHA1   = "X-Rhombus-Signature-Sha1"   // organisation webhooks, HMAC-SHA1
	HeaderSHA256 = "X-Rhombus-Signature-Sha256" // rule webhooks, HMAC-SHA256
)

// verifier checks signatures against every configured secret. Keyed HMAC states are
// kept per secret and algorithm: hmac.Reset restores the keyed state without re-deriving
// the pads, so a verification allocates nothing.
type verifier struct {
	sha1, sha256 []*macPool
}

func newVerifier(secrets []string) *verifier {
	v := &verifier{}
	for _, s := range secrets {
		key := []byte(s)
		v.sha1 = append(v.sha1, newMACPool(func() hash.Hash { return hmac.New(sha1.New, key) }))
		v.sha256 = append(v.sha256, newMACPool(func() hash.Hash { return hmac.New(sha256.New, key) }))
	}
	return v
}

// macPool is a bounded free list of keyed HMAC states. Unlike a sync.Pool it survives
// garbage collections, which at thousands of webhooks a second happen often enough to
// make re-keying show in profiles.
type macPool struct {
	free chan hash.Hash
	make func() hash.Hash
}

func newMACPool(mk func() hash.Hash) *macPool {
	return &macPool{free: make(chan hash.Hash, 64), make: mk}
}

func (p *macPool) get() hash.Hash {
	select {
	case m := <-p.free:
		m.Reset()
		return m
	default:
		return p.make()
	}
}

func (p *macPool) put(m hash.Hash) {
	select {
	case p.free <- m:
	default:
	}
}

// verify reports whether a signature header present on h is the HMAC of body under one
// of the secrets. Both headers may be present; either verifying is enough.
func (v *verifier) verify(h http.Header, body []byte) bool {
	if vals := h[HeaderSHA256]; len(vals) > 0 && match(v.sha256, vals[0], body, sha256.Size) {
		return true
	}
	if vals := h[HeaderSHA1]; len(vals) > 0 && match(v.sha1, vals[0], body, sha1.Size) {
		return true
	}
	return false
}

// match decodes the hex signature and compares it in constant time with the HMAC of body
// under every secret (all of them, whichever matches, so timing reveals nothing about
// which secret is in use).
func match(pools []*macPool, sig string, body []byte, size int) bool {
	sig = strings.TrimSpace(sig)
	if len(sig) != 2*size {
		return false
	}
	var want, got [sha256.Size]byte
	if !decodeHex(want[:size], sig) {
		return false
	}
	ok := false
	for _, p := range pools {
		m := p.get()
		m.Write(body)
		sum := m.Sum(got[:0])
		p.put(m)
		if hmac.Equal(sum, want[:size]) {
			ok = true
		}
	}
	return ok
}

// decodeHex decodes s (either case) into dst, len(s) == 2*len(dst), without allocating.
func decodeHex(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
