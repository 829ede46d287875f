package webhook_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// FuzzHandler feeds arbitrary bodies and signature headers to the handler (publishing to
// a real JetStream). It must never panic, never answer 200 to a body that is not signed
// with a configured secret, and answer a signed body with 200, 400 or 413 only.
func FuzzHandler(f *testing.F) {
	seeds := [][]byte{
		alertBody("FUZZ-1"),
		[]byte(ruleBody),
		[]byte(`{"version":"2","summary":"Test webhook"}`),
		[]byte(`{"deviceUuid":"D","diagnosticTrigger":"CAMERA_DISCONNECTED,POWER_LOSS"}`),
		[]byte(`{"alertUuid":{"x":[1,2]},"timestampMs":"abc"}`),
		[]byte(`{"alertUuid":"A","durationSec":"NaN","timestampMs":1e400}`),
		[]byte(`{"activityTrigger":"MOTION"}`),
		[]byte(`[` + string(bytes.Repeat([]byte("["), 20000)) + `]`),
		[]byte("\xff\xfe{}"),
		[]byte(""),
		[]byte("null"),
	}
	for i, s := range seeds {
		f.Add(s, "", i%2 == 0, i%3 == 0)
		f.Add(s, flipLast(sign1(secret1, s)), false, false)
	}
	e := newEnv(f, func(c *webhook.Config) { c.MaxBytes = 64 << 10 })
	f.Fuzz(func(t *testing.T, body []byte, sig string, signed, rule bool) {
		header, good, other := webhook.HeaderSHA1, sign1(secret2, body), sign1(secret1, body)
		if rule {
			header, good, other = webhook.HeaderSHA256, sign256(secret2, body), sign256(secret1, body)
		}
		if signed {
			sig = good
		}
		if s := strings.TrimSpace(sig); strings.EqualFold(s, other) || strings.EqualFold(s, good) {
			sig = good // a valid signature, whichever secret, in either case
		}
		req := httptest.NewRequest(http.MethodPost, webhook.DefaultPath, bytes.NewReader(body))
		req.Header.Set(header, sig)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		code := rec.Code
		switch {
		case sig != good && code == 200:
			t.Fatalf("unsigned body answered 200: %q", body)
		case sig != good && code != 401 && code != 413:
			t.Fatalf("unsigned body answered %d", code)
		case sig == good && code != 200 && code != 400 && code != 413:
			t.Fatalf("signed body answered %d (%s): %q", code, rec.Body, body)
		}
	})
}

// flipLast changes the last hex digit of sig.
func flipLast(sig string) string {
	last := byte('0')
	if sig[len(sig)-1] == '0' {
		last = '1'
	}
	return sig[:len(sig)-1] + string(last)
}
