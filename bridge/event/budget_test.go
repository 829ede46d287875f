//go:build !race

package event_test

import "testing"

// allocBudget is what parse → build → WithDeviceName → body of a typical alert may
// allocate: 10 when it was set (one copy of the payload shared by every parsed field, the
// trigger lists, the id, the data, the body, the spliced body and its data). The race
// detector's instrumentation allocates more, hence the build tag.
const allocBudget = 11

func TestHotPathAllocationBudget(t *testing.T) {
	raw := fixtures(t)["websocket_flat_policy_alert"]
	got := testing.AllocsPerRun(200, func() { parseEnrichEncode(t, raw) })
	if got > allocBudget {
		t.Fatalf("parse → enrich → encode of one alert allocates %.0f times, budget %d", got, allocBudget)
	}
}
