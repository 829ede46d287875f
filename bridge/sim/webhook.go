package sim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Rhombus signs org webhooks with HMAC-SHA1
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"
)

// The signature headers Rhombus sends.
const (
	HeaderSHA1   = "x-rhombus-signature-sha1"   // org webhooks
	HeaderSHA256 = "x-rhombus-signature-sha256" // rule webhooks
)

// SigKind picks the HMAC of a webhook signature.
type SigKind int

const (
	SigSHA1   SigKind = iota // org webhooks: HMAC-SHA1, header x-rhombus-signature-sha1
	SigSHA256                // rule webhooks: HMAC-SHA256, header x-rhombus-signature-sha256
)

// Signature is one signature header to put on a webhook.
type Signature struct {
	Kind   SigKind
	Secret string
}

// Header is the header name the signature goes in.
func (g Signature) Header() string {
	if g.Kind == SigSHA256 {
		return HeaderSHA256
	}
	return HeaderSHA1
}

// Sign is the lowercase hex HMAC of body keyed with the secret's UTF-8 bytes.
func (g Signature) Sign(body []byte) string {
	h := sha1.New
	if g.Kind == SigSHA256 {
		h = sha256.New
	}
	return hmacHex(h, g.Secret, body)
}

func hmacHex(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SignSHA1 is the org-webhook signature of body.
func SignSHA1(secret string, body []byte) string { return hmacHex(sha1.New, secret, body) }

// SignSHA256 is the rule-webhook signature of body.
func SignSHA256(secret string, body []byte) string { return hmacHex(sha256.New, secret, body) }

// WebhookResult is the receiver's answer.
type WebhookResult struct {
	Status     int
	RetryAfter string
	Body       string // first 4 KiB
}

// SendWebhook POSTs body to url as Rhombus would, with one signature header per sig (none:
// unsigned). It returns the answer; err only for transport failures.
func SendWebhook(ctx context.Context, url string, body []byte, sigs ...Signature) (WebhookResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return WebhookResult{}, fmt.Errorf("sim: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rhombus-sim-webhook/1")
	for _, g := range sigs {
		req.Header.Set(g.Header(), g.Sign(body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return WebhookResult{}, fmt.Errorf("sim: webhook post: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return WebhookResult{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Body: string(b)}, nil
}

// OrgActivity is the org webhook body (fixture webhook_org_activity), in Rhombus's order.
type OrgActivity struct {
	Summary           string            `json:"summary"`
	DeviceUUID        string            `json:"deviceUuid"`
	ClipLocationMap   map[string]string `json:"clipLocationMap"`
	AlertUUID         string            `json:"alertUuid"`
	ActivityTrigger   string            `json:"activityTrigger"`
	Location          string            `json:"location"`
	DurationSec       float64           `json:"durationSec"`
	Version           string            `json:"version"`
	TimestampMs       int64             `json:"timestampMs"`
	ThumbnailLocation string            `json:"thumbnailLocation"`
}

// WebhookBody is the org activity webhook body for the alert: the webhook copy of an
// alert that may also have been emitted live.
func (a Alert) WebhookBody() []byte {
	trigger := "MOTION"
	if len(a.Triggers) > 0 {
		trigger = strings.TrimSuffix(a.Triggers[0], "_DETECTED")
	}
	b, _ := json.Marshal(OrgActivity{
		Summary: a.TextDescription, DeviceUUID: a.DeviceUUID,
		ClipLocationMap: map[string]string{a.DeviceUUID: "us-west-2"},
		AlertUUID:       a.UUID, ActivityTrigger: trigger, Location: a.LocationUUID,
		DurationSec: a.DurationSec, Version: "2", TimestampMs: a.TimestampMs,
		ThumbnailLocation: "us-west-2",
	})
	return b
}

// WebhookSettings is what updateWebhookIntegrationV2 stored.
type WebhookSettings struct {
	URL        string `json:"webhookUrl"`
	Disabled   bool   `json:"disabled"`
	Diagnostic bool   `json:"isDiagnostic"`
	Secret     string `json:"webhookSecret"`
}

func (s *Server) updateWebhook(body []byte) (any, int) {
	var in struct {
		URL        string `json:"webhookUrl"`
		Disabled   bool   `json:"disabled"`
		Diagnostic bool   `json:"isDiagnostic"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return badRequest(err)
	}
	secret := s.ids.uuid()
	s.mu.Lock()
	s.webhook = WebhookSettings{URL: in.URL, Disabled: in.Disabled, Diagnostic: in.Diagnostic, Secret: secret}
	s.mu.Unlock()
	return map[string]any{"webhookSecret": secret}, 0
}

func (s *Server) getWebhook([]byte) (any, int) {
	return map[string]any{"webhookSettings": s.Webhook()}, 0
}

// Webhook returns the webhook settings registered through the REST API.
func (s *Server) Webhook() WebhookSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// SetWebhookDelivery turns delivery of created alerts to the registered webhook on or off.
func (s *Server) SetWebhookDelivery(on bool) {
	s.mu.Lock()
	s.cfg.DeliverWebhooks = on
	s.mu.Unlock()
}

// webhookLoop delivers queued alerts to the registered webhook, one at a time.
func (s *Server) webhookLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case a := <-s.hookQ:
			w := s.Webhook()
			if w.URL == "" || w.Disabled {
				continue
			}
			ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
			res, err := SendWebhook(ctx, w.URL, a.WebhookBody(), Signature{Kind: SigSHA1, Secret: w.Secret})
			cancel()
			if err != nil || res.Status != http.StatusOK {
				s.log.Warn("webhook delivery failed", "alert_uuid", a.UUID, "status", res.Status, "err", err)
			}
		}
	}
}
