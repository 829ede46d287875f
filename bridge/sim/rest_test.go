package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// post calls a REST endpoint with the right credentials unless key is "-".
func post(t *testing.T, s *Server, path, body string, out any) *http.Response {
	t.Helper()
	return postKey(t, s, testKey, path, body, out)
}

func postKey(t *testing.T, s *Server, key, path, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-auth-apikey", key)
	req.Header.Set("x-auth-scheme", "api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
	}
	return resp
}

func TestRESTOrgAndAuth(t *testing.T) {
	s := start(t, Config{OrgUUID: "ORG1", OrgName: "Acme"})
	var org struct {
		Org struct{ UUID, Name string }
	}
	if r := post(t, s, "/api/org/getOrgV2", "{}", &org); r.StatusCode != 200 || org.Org.UUID != "ORG1" || org.Org.Name != "Acme" {
		t.Fatalf("%d %+v", r.StatusCode, org)
	}
	if r := postKey(t, s, "wrong", "/api/org/getOrgV2", "{}", nil); r.StatusCode != 401 {
		t.Fatalf("wrong key: %d", r.StatusCode)
	}
	resp, err := http.Get(s.URL() + "/api/org/getOrgV2")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	calls := s.Calls()
	if len(calls) != 3 || calls[0].Status != 200 || calls[1].Status != 401 || calls[2].Status != 405 ||
		calls[0].Path != "/api/org/getOrgV2" {
		t.Fatalf("calls %+v", calls)
	}
}

func TestRESTCameras(t *testing.T) {
	s := start(t, Config{Cameras: 3})
	var out struct {
		CameraStates []Camera `json:"cameraStates"`
	}
	post(t, s, "/api/camera/getMinimalCameraStateList", "{}", &out)
	if len(out.CameraStates) != 3 || out.CameraStates[0].Name == "" || len(out.CameraStates[0].UUID) != 22 {
		t.Fatalf("%+v", out)
	}
}

type alertsPage struct {
	PolicyAlerts []Record `json:"policyAlerts"`
}

// seedAlerts creates n history-only alerts at base, base+10, ... with two sharing a timestamp.
func seedAlerts(s *Server, base int64, n int) []Alert {
	out := make([]Alert, n)
	for i := range n {
		ts := base + int64(i)*10
		if i == n-1 {
			ts = base + int64(i-1)*10 // same timestamp as the one before
		}
		out[i] = s.CreateAlert(Alert{TimestampMs: ts, HistoryOnly: true})
	}
	return out
}

func TestRESTPagingCapAndBounds(t *testing.T) {
	s := start(t, Config{RESTPageCap: 3})
	const base = int64(1_700_000_000_000)
	seedAlerts(s, base, 8) // timestamps base .. base+60, the last two equal
	var p alertsPage
	post(t, s, "/api/event/getPolicyAlertsV2", `{"afterTimestampMs":1700000000010,"beforeTimestampMs":1700000000040,"maxResults":100}`, &p)
	if len(p.PolicyAlerts) != 3 {
		t.Fatalf("cap: got %d", len(p.PolicyAlerts))
	}
	if p.PolicyAlerts[0].TimestampMs != base+10 {
		t.Fatalf("lower bound not inclusive: %d", p.PolicyAlerts[0].TimestampMs)
	}
	last := p.PolicyAlerts[2]
	body, _ := json.Marshal(map[string]any{"afterTimestampMs": base + 10, "beforeTimestampMs": base + 40,
		"maxResults": 100, "lastTimestampMs": last.TimestampMs, "lastUuid": last.UUID})
	var p2 alertsPage
	post(t, s, "/api/event/getPolicyAlertsV2", string(body), &p2)
	if len(p2.PolicyAlerts) != 1 || p2.PolicyAlerts[0].TimestampMs != base+40 {
		t.Fatalf("upper bound inclusive / cursor: %+v", p2.PolicyAlerts)
	}
	// maxResults below the cap wins.
	var p3 alertsPage
	post(t, s, "/api/event/getPolicyAlertsV2", `{"maxResults":2}`, &p3)
	if len(p3.PolicyAlerts) != 2 {
		t.Fatalf("maxResults 2: %d", len(p3.PolicyAlerts))
	}
	// Paging by cursor through everything finds all 8, including the two with one timestamp.
	if got := pageAll(t, s, base, base+100); len(got) != 8 {
		t.Fatalf("paged %d of 8", len(got))
	}
}

func pageAll(t *testing.T, s *Server, after, before int64) map[string]Record {
	seen := map[string]Record{}
	q := map[string]any{"afterTimestampMs": after, "beforeTimestampMs": before, "maxResults": 100}
	for range 100 {
		var p alertsPage
		b, _ := json.Marshal(q)
		post(t, s, "/api/event/getPolicyAlertsV2", string(b), &p)
		added := 0
		for _, r := range p.PolicyAlerts {
			if _, ok := seen[r.UUID]; !ok {
				seen[r.UUID] = r
				added++
			}
		}
		if added == 0 {
			return seen
		}
		last := p.PolicyAlerts[len(p.PolicyAlerts)-1]
		q["lastTimestampMs"], q["lastUuid"] = last.TimestampMs, last.UUID
	}
	t.Fatal("paging did not end")
	return nil
}

func TestRESTNewestFirst(t *testing.T) {
	s := start(t, Config{RESTPageCap: 4, NewestFirst: true})
	const base = int64(1_700_000_000_000)
	seedAlerts(s, base, 8)
	var p alertsPage
	post(t, s, "/api/event/getPolicyAlertsV2", `{"afterTimestampMs":1700000000000,"beforeTimestampMs":1700000001000,"maxResults":50}`, &p)
	if len(p.PolicyAlerts) != 4 {
		t.Fatalf("got %d", len(p.PolicyAlerts))
	}
	for i := 1; i < len(p.PolicyAlerts); i++ {
		if p.PolicyAlerts[i].TimestampMs > p.PolicyAlerts[i-1].TimestampMs {
			t.Fatalf("not newest first: %+v", p.PolicyAlerts)
		}
	}
	if got := pageAll(t, s, base, base+1000); len(got) != 8 {
		t.Fatalf("paged %d of 8", len(got))
	}
}

func TestREST429And5xx(t *testing.T) {
	s := start(t, Config{})
	s.REST429(2, 1500*time.Millisecond)
	for range 2 {
		r := post(t, s, "/api/org/getOrgV2", "{}", nil)
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "2" {
			t.Fatalf("want 429 Retry-After 2, got %d %q", r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	s.REST5xx(1)
	if r := post(t, s, "/api/org/getOrgV2", "{}", nil); r.StatusCode != 503 {
		t.Fatalf("want 503, got %d", r.StatusCode)
	}
	if r := post(t, s, "/api/org/getOrgV2", "{}", nil); r.StatusCode != 200 {
		t.Fatalf("want 200 after faults, got %d", r.StatusCode)
	}
	s.REST5xx(-1)
	for range 3 {
		if r := post(t, s, "/api/org/getOrgV2", "{}", nil); r.StatusCode != 503 {
			t.Fatalf("until cleared: %d", r.StatusCode)
		}
	}
	s.ClearFaults()
	if r := post(t, s, "/api/org/getOrgV2", "{}", nil); r.StatusCode != 200 {
		t.Fatalf("after clear: %d", r.StatusCode)
	}
	statuses := []int{}
	for _, c := range s.CallsTo("/api/org/getOrgV2") {
		statuses = append(statuses, c.Status)
	}
	if want := "[429 429 503 200 503 503 503 200]"; fmt.Sprint(statuses) != want {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestRESTAlertDetails(t *testing.T) {
	s := start(t, Config{})
	a := s.CreateAlert(Alert{Shape: ShapeNestedBare, Triggers: []string{"PERSON_DETECTED"}})
	if bytes.Contains(a.Payload(), []byte("timestampMs")) {
		t.Fatalf("bare payload has a timestamp: %s", a.Payload())
	}
	var out struct {
		PolicyAlert Record `json:"policyAlert"`
	}
	post(t, s, "/api/event/getPolicyAlertDetails", `{"policyAlertUuid":"`+a.UUID+`"}`, &out)
	if out.PolicyAlert.UUID != a.UUID || out.PolicyAlert.TimestampMs != a.TimestampMs ||
		out.PolicyAlert.Triggers[0] != "PERSON_DETECTED" {
		t.Fatalf("%+v", out)
	}
	var missing map[string]any
	post(t, s, "/api/event/getPolicyAlertDetails", `{"policyAlertUuid":"nope"}`, &missing)
	if missing["error"] != true {
		t.Fatalf("unknown uuid: %v", missing)
	}
}
