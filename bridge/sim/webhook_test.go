package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestSignatureVector(t *testing.T) {
	const secret, body = "AAAAAAAAAAAAAAAAAAAAAA", `{"version":"2","summary":"Test webhook"}`
	if got := SignSHA1(secret, []byte(body)); got != "7c67f32d7b1320f76fa6d171a1a54dd6808570b6" {
		t.Fatalf("sha1 %s", got)
	}
	if got := (Signature{Kind: SigSHA1, Secret: secret}).Sign([]byte(body)); got != "7c67f32d7b1320f76fa6d171a1a54dd6808570b6" {
		t.Fatalf("Signature sha1 %s", got)
	}
	if got := SignSHA256(secret, []byte(body)); len(got) != 64 || got != (Signature{Kind: SigSHA256, Secret: secret}).Sign([]byte(body)) {
		t.Fatalf("sha256 %s", got)
	}
}

// TestSignatureVectorFromFixture reads the contract's fixture when it is there.
func TestSignatureVectorFromFixture(t *testing.T) {
	b, err := os.ReadFile("../../../shared/fixtures/rhombus-samples.json")
	if err != nil {
		t.Skip("shared fixtures not present")
	}
	var fx struct {
		V struct {
			Secret string `json:"secret"`
			Body   string `json:"body"`
			SHA1   string `json:"x-rhombus-signature-sha1"`
		} `json:"webhook_signature_vector"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if got := SignSHA1(fx.V.Secret, []byte(fx.V.Body)); got != fx.V.SHA1 {
		t.Fatalf("got %s want %s", got, fx.V.SHA1)
	}
}

func TestSendWebhook(t *testing.T) {
	type got struct {
		sha1, sha256 string
		body         []byte
	}
	ch := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.Header.Get(HeaderSHA1), r.Header.Get(HeaderSHA256), b}
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(503)
	}))
	defer srv.Close()
	s := start(t, Config{})
	a := s.CreateAlert(Alert{Triggers: []string{"MOTION_DETECTED"}, HistoryOnly: true})
	body := a.WebhookBody()
	res, err := SendWebhook(context.Background(), srv.URL, body, Signature{SigSHA1, "s1"}, Signature{SigSHA256, "s2"})
	if err != nil || res.Status != 503 || res.RetryAfter != "3" {
		t.Fatalf("%+v %v", res, err)
	}
	g := <-ch
	if g.sha1 != SignSHA1("s1", body) || g.sha256 != SignSHA256("s2", body) || string(g.body) != string(body) {
		t.Fatalf("%+v", g)
	}
	var oa OrgActivity
	if err := json.Unmarshal(body, &oa); err != nil {
		t.Fatal(err)
	}
	if oa.AlertUUID != a.UUID || oa.DeviceUUID != a.DeviceUUID || oa.TimestampMs != a.TimestampMs ||
		oa.Version != "2" || oa.ActivityTrigger != "MOTION" || oa.ClipLocationMap[a.DeviceUUID] == "" {
		t.Fatalf("%+v", oa)
	}
}
