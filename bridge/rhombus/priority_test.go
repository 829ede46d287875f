package rhombus

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// AlertEvents asks for one page: the bounds, PageSize as maxResults and the cursor as
// given, and returns the records as events in the order the server sent them.
func TestAlertEventsAsksOnePage(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte(`{"policyAlerts":[{"uuid":"b","deviceUuid":"d","timestampMs":2000},` +
			`{"uuid":"a","deviceUuid":"d","timestampMs":"1000"},{"deviceUuid":"no-uuid","timestampMs":1500}]}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(c *ClientConfig) { c.PageSize = 7 })
	evs, err := c.AlertEvents("ORG")(ctxT(t, 10*time.Second), 1000, 2000, 1999, "c")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"afterTimestampMs": 1000.0, "beforeTimestampMs": 2000.0, "maxResults": 7.0,
		"lastTimestampMs": 1999.0, "lastUuid": "c"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("request %s = %v, want %v (request %v)", k, got[k], v, got)
		}
	}
	if len(evs) != 2 || evs[0].EntityUUID != "b" || evs[1].EntityUUID != "a" || evs[1].TimestampMs != 1000 ||
		evs[0].Via != event.ViaBackfill || evs[0].ID != event.AlertID("b") {
		t.Fatalf("events %+v: want b then a, as sent, via backfill", evs)
	}
}

// While a backfill call waits or runs, enrichment does not call at all (it skips at
// once) and other calls wait for it; afterwards both go through again.
func TestBackfillGoesFirst(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	var details, orgs atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/event/getPolicyAlertsV2":
			arrived <- struct{}{}
			<-release
			_, _ = w.Write([]byte(`{"policyAlerts":[]}`))
		case "/api/event/getPolicyAlertDetails":
			details.Add(1)
			_, _ = w.Write([]byte(`{"policyAlert":{"uuid":"a1","deviceUuid":"d","timestampMs":1000}}`))
		case "/api/org/getOrgV2":
			orgs.Add(1)
			_, _ = w.Write([]byte(`{"org":{"uuid":"ORG"}}`))
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	backfill := make(chan error, 1)
	go func() {
		_, err := c.AlertEvents("ORG")(ctxT(t, 20*time.Second), 0, 1, 0, "")
		backfill <- err
	}()
	<-arrived
	bare, err := event.ParseChange("ORG", []byte(`{"entity":"POLICY_ALERT","type":"CREATE","update":{"uuid":"a1"}}`), event.ViaWebSocket)
	if err != nil || bare.TimestampMs != 0 {
		t.Fatalf("bare alert %+v, %v", bare, err)
	}
	e := NewEnricher(c, 2*time.Second, quietLogger())
	start := time.Now()
	if out := e.Enrich(ctxT(t, 10*time.Second), bare); out.TimestampMs != 0 || e.Skipped() != 1 ||
		time.Since(start) > time.Second || details.Load() != 0 {
		t.Fatalf("during backfill: enriched %+v after %s (skipped %d, details calls %d)",
			out, time.Since(start), e.Skipped(), details.Load())
	}
	if _, err := c.PolicyAlertDetails(WithoutQueueing(ctxT(t, 10*time.Second)), "a1"); !errors.Is(err, ErrPastDeadline) {
		t.Fatalf("a call without queueing during backfill: %v, want ErrPastDeadline", err)
	}
	org := make(chan error, 1)
	go func() { _, err := c.OrgUUID(ctxT(t, 20*time.Second)); org <- err }()
	select {
	case err := <-org:
		t.Fatalf("getOrgV2 went ahead of the backfill call (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-backfill; err != nil {
		t.Fatal(err)
	}
	if err := <-org; err != nil || orgs.Load() != 1 {
		t.Fatalf("getOrgV2 after the backfill call: %v (%d calls)", err, orgs.Load())
	}
	if out := e.Enrich(ctxT(t, 10*time.Second), bare); out.TimestampMs != 1000 {
		t.Fatalf("after backfill: not completed: %+v", out)
	}
}
