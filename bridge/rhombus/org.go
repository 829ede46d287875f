package rhombus

import (
	"context"
	"errors"
	"sync"
	"time"
)

// OrgUUID discovers the org of the API key with getOrgV2.
func (c *Client) OrgUUID(ctx context.Context) (string, error) {
	var resp struct {
		Org struct {
			UUID string `json:"uuid"`
		} `json:"org"`
	}
	if err := c.Call(ctx, "/api/org/getOrgV2", struct{}{}, &resp); err != nil {
		return "", err
	}
	if resp.Org.UUID == "" {
		return "", errors.New("rhombus: getOrgV2 answered without org.uuid")
	}
	return resp.Org.UUID, nil
}

// WebhookSettings is the org's webhook integration.
type WebhookSettings struct {
	URL        string `json:"webhookUrl"`
	Disabled   bool   `json:"disabled"`
	Diagnostic bool   `json:"isDiagnostic"`
}

// RegisterWebhook points the org's webhook integration at url (enabled) and returns the
// signing secret Rhombus generated.
func (c *Client) RegisterWebhook(ctx context.Context, url string, diagnostic bool) (string, error) {
	req := map[string]any{"webhookUrl": url, "disabled": false, "isDiagnostic": diagnostic}
	var resp struct {
		Secret string `json:"webhookSecret"`
	}
	if err := c.Call(ctx, "/api/integrations/webhooks/updateWebhookIntegrationV2", req, &resp); err != nil {
		return "", err
	}
	if resp.Secret == "" {
		return "", errors.New("rhombus: updateWebhookIntegrationV2 answered without webhookSecret")
	}
	return resp.Secret, nil
}

// WebhookStatus reads the org's webhook integration.
func (c *Client) WebhookStatus(ctx context.Context) (WebhookSettings, error) {
	var resp struct {
		Settings WebhookSettings `json:"webhookSettings"`
	}
	err := c.Call(ctx, "/api/integrations/webhooks/getWebhookIntegration", struct{}{}, &resp)
	return resp.Settings, err
}

// cameraCache holds camera names for ttl; one refresh runs at a time.
type cameraCache struct {
	ttl time.Duration

	mu         sync.Mutex
	names      map[string]string // replaced, never modified
	fetched    time.Time         // last successful refresh
	refreshing chan struct{}     // closed when the running refresh ends
	firstUntil time.Time         // events wait for the very first names until then, at most
}

// firstNamesWait bounds how long events wait, in all, for the first camera names: a slow
// or refused first fetch (a 429 storm at start-up) must not hold the live feed.
const firstNamesWait = 500 * time.Millisecond

// DeviceName returns the name of the camera uuid from a cache refreshed every CameraTTL
// with getMinimalCameraStateList. One refresh runs at a time, in the background, bounded;
// callers answer from the old names meanwhile, and wait (up to ctx, and no later than
// firstNamesWait after the first fetch began) only while there are none yet. A failed refresh keeps the old names and is retried after 30 s at most.
func (c *Client) DeviceName(ctx context.Context, uuid string) (string, bool) {
	cc := &c.cams
	cc.mu.Lock()
	if time.Since(cc.fetched) >= cc.ttl && cc.refreshing == nil {
		if cc.firstUntil.IsZero() {
			cc.firstUntil = time.Now().Add(firstNamesWait)
		}
		cc.refreshing = make(chan struct{})
		go c.refreshCameras(cc.refreshing)
	}
	names, wait, first := cc.names, cc.refreshing, cc.firstUntil
	cc.mu.Unlock()
	if names == nil && wait != nil && time.Until(first) > 0 {
		t := time.NewTimer(time.Until(first))
		defer t.Stop()
		select {
		case <-wait:
		case <-t.C: // the first names are slow to come: publish without them
			return "", false
		case <-ctx.Done():
			return "", false
		}
		cc.mu.Lock()
		names = cc.names
		cc.mu.Unlock()
	}
	name, ok := names[uuid]
	return name, ok
}

func (c *Client) refreshCameras(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.cfg.Timeout)
	defer cancel()
	names, err := c.CameraNames(ctx)
	cc := &c.cams
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if err == nil {
		cc.names, cc.fetched = names, time.Now()
	} else {
		c.log.Warn("camera names not refreshed", "error", err.Error())
		cc.fetched = time.Now().Add(-cc.ttl + min(cc.ttl, 30*time.Second))
	}
	cc.refreshing = nil
	close(done)
}

// CameraNames fetches every camera's uuid → name with getMinimalCameraStateList.
func (c *Client) CameraNames(ctx context.Context) (map[string]string, error) {
	var resp struct {
		CameraStates []struct {
			UUID string `json:"uuid"`
			Name string `json:"name"`
		} `json:"cameraStates"`
	}
	if err := c.Call(ctx, "/api/camera/getMinimalCameraStateList", struct{}{}, &resp); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(resp.CameraStates))
	for _, s := range resp.CameraStates {
		if s.UUID != "" && s.Name != "" {
			names[s.UUID] = s.Name
		}
	}
	return names, nil
}
