package result

import (
	"strings"
	"testing"
)

// A run without the webhook phase (-webhooks 0, or figures written before it existed)
// has neither the webhook table nor the webhook goals; a run with it has both.
func TestWebhookRowsOnlyWhenThePhaseRan(t *testing.T) {
	r := &Results{Bridge: Figures{BurstPerSec: 1}, Relay: Figures{BurstPerSec: 1}, RawPerSec: 1}
	if s := tables(r); strings.Contains(s, "webhook") {
		t.Fatalf("without the phase:\n%s", s)
	}
	r.Webhooks, r.WebhookSenders = 6000, 32
	r.BridgeWebhook = Webhook{PerSec: 9000, P50ms: 2, P99ms: 9, CPUus: 80}
	r.RefWebhook = Webhook{PerSec: 8000, P50ms: 3, P99ms: 10, CPUus: 70}
	s := tables(r)
	for _, want := range []string{
		"| requests/s answered 200 | 9000 (1.12× reference) | 8000 |",
		"| CPU µs per request | 80.0 | 70.0 |",
		"| webhook requests/s ÷ the reference receiver's | ≥ 1× | 1.12× | met |",
		"| webhook p99 (the reference receiver's as target) | ≤ 10 ms | 9 ms | met |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q in\n%s", want, s)
		}
	}
}

func tables(r *Results) string {
	var b strings.Builder
	r.Table(&b)
	r.Goals(&b)
	return b.String()
}
