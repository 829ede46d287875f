package rhombus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/internal/promreg"
)

// ClientConfig configures the REST client.
type ClientConfig struct {
	APIURL     string // e.g. https://api2.rhombussystems.com
	APIKey     string
	AuthScheme string // default "api-token"
	PartnerOrg string // x-auth-org, partner tokens only

	Rate        float64       // client-side budget of the org, requests/s (default 5)
	Burst       int           // default max(1, Rate)
	RetryBase   time.Duration // 5xx / transport retries (default 1 s)
	RetryMax    time.Duration // their cap (default 60 s)
	MaxAttempts int           // attempts per call, 429s included (default 8)
	Timeout     time.Duration // one HTTP exchange (default 30 s)
	MaxBody     int64         // largest response body read (default 32 MiB)

	CameraTTL time.Duration // camera-name cache lifetime (default 5 min)
	PageSize  int           // maxResults asked of getPolicyAlertsV2 (default 500)

	// Credential, when set, is the budget of the API key, shared by the clients of every
	// org that calls with it (a partner token opens many orgs): a call takes a token from
	// both (see NewCredentialBudget).
	Credential *rate.Limiter

	HTTPClient *http.Client
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics not registered
}

// HTTPError is a non-retried (or finally failed) HTTP status from Rhombus.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("rhombus: HTTP %d: %s", e.Status, e.Body) }

// APIError is a 200 answer that carries Rhombus's error flag.
type APIError struct{ Message string }

func (e *APIError) Error() string { return "rhombus: API error: " + e.Message }

// Client calls the Rhombus REST API: every call POSTs JSON with the auth headers, waits for
// the client-side rate limit and for any Retry-After in force, retries 5xx and transport
// errors with full-jitter backoff, and never retries other 4xx. Calls marked WithPriority
// (backfill) go first. Safe for concurrent use.
type Client struct {
	cfg     ClientConfig
	log     *slog.Logger
	limiter *rate.Limiter
	reqs    *prometheus.CounterVec

	mu        sync.Mutex
	notBefore time.Time // no call before this (Retry-After)
	prio      priorityGate

	cams cameraCache
}

// NewClient validates cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if !strings.HasPrefix(cfg.APIURL, "http://") && !strings.HasPrefix(cfg.APIURL, "https://") {
		return nil, fmt.Errorf("rhombus: APIURL %q is not an http(s) URL", cfg.APIURL)
	}
	if cfg.APIKey == "" {
		return nil, errors.New("rhombus: APIKey is required")
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.AuthScheme == "" {
		cfg.AuthScheme = "api-token"
	}
	defaults(&cfg)
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "rhombus_rest"),
		limiter: rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)}
	c.reqs = promreg.MustReuse(cfg.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rhombus_bridge_rest_requests_total",
		Help: "Rhombus REST requests by path and HTTP status (error: no response).",
	}, []string{"path", "code"}))
	c.cams.ttl = cfg.CameraTTL
	return c, nil
}

func defaults(cfg *ClientConfig) {
	if cfg.Rate <= 0 {
		cfg.Rate = 5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(cfg.Rate))
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&cfg.RetryBase, time.Second)
	dur(&cfg.RetryMax, time.Minute)
	dur(&cfg.Timeout, 30*time.Second)
	dur(&cfg.CameraTTL, 5*time.Minute)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 32 << 20
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 500
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
}

// Call POSTs req as JSON to path and decodes the answer into resp (nil: discarded).
func (c *Client) Call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("rhombus %s: encode: %w", path, err)
	}
	if hasPriority(ctx) {
		c.prio.enter()
		defer c.prio.leave()
	}
	b := backoff.Backoff{Base: c.cfg.RetryBase, Max: c.cfg.RetryMax}
	for attempt := 1; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return fmt.Errorf("rhombus %s: %w", path, err)
		}
		data, retryIn, err := c.once(ctx, path, body)
		if err == nil {
			return decode(path, data, resp)
		}
		if retryIn < 0 || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			return fmt.Errorf("rhombus %s (attempt %d): %w", path, attempt, err)
		}
		if retryIn == 0 {
			retryIn = b.Next()
		}
		if pastDeadline(ctx, retryIn) {
			return fmt.Errorf("rhombus %s (attempt %d): %w; a retry in %s: %w", path, attempt, err,
				retryIn.Round(time.Millisecond), ErrPastDeadline)
		}
		c.log.Warn("rhombus call failed; retrying", "path", path, "attempt", attempt, "error", err.Error(),
			"retry_in", retryIn.String())
		if err := backoff.Sleep(ctx, retryIn); err != nil {
			return fmt.Errorf("rhombus %s: %w", path, err)
		}
	}
}

// once makes one exchange. retryIn: -1 do not retry; 0 retry after backoff; >0 retry
// after exactly that (Retry-After, already in force for every call).
func (c *Client) once(ctx context.Context, path string, body []byte) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.APIURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, -1, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("x-auth-apikey", c.cfg.APIKey)
	r.Header.Set("x-auth-scheme", c.cfg.AuthScheme)
	if c.cfg.PartnerOrg != "" {
		r.Header.Set("x-auth-org", c.cfg.PartnerOrg)
	}
	res, err := c.cfg.HTTPClient.Do(r)
	if err != nil {
		c.reqs.WithLabelValues(path, "error").Inc()
		return nil, 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, c.cfg.MaxBody+1))
	c.reqs.WithLabelValues(path, strconv.Itoa(res.StatusCode)).Inc()
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		d, herr := c.retryable(res, data)
		return nil, d, herr
	case res.StatusCode >= 300:
		return nil, -1, &HTTPError{Status: res.StatusCode, Body: snippet(data)}
	case err != nil:
		return nil, 0, fmt.Errorf("read body: %w", err)
	case int64(len(data)) > c.cfg.MaxBody:
		return nil, -1, fmt.Errorf("response larger than %d bytes", c.cfg.MaxBody)
	}
	return data, 0, nil
}

// retryable handles a 429 or 5xx: a Retry-After (or, for a 429 without one, RetryBase)
// holds every call of the client until it elapsed.
func (c *Client) retryable(res *http.Response, data []byte) (time.Duration, error) {
	herr := &HTTPError{Status: res.StatusCode, Body: snippet(data)}
	d, ok := retryAfter(res.Header.Get("Retry-After"), time.Now())
	switch {
	case ok:
	case res.StatusCode == http.StatusTooManyRequests:
		d = c.cfg.RetryBase
	default:
		return 0, herr // a 5xx without Retry-After: backoff
	}
	c.holdUntil(time.Now().Add(d))
	return d, herr
}

func decode(path string, data []byte, resp any) error {
	var flag struct {
		Error    bool   `json:"error"`
		ErrorMsg string `json:"errorMsg"`
	}
	if json.Unmarshal(data, &flag) == nil && flag.Error {
		return fmt.Errorf("rhombus %s: %w", path, &APIError{Message: flag.ErrorMsg})
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("rhombus %s: decode: %w", path, err)
	}
	return nil
}

func snippet(b []byte) string {
	const n = 512
	if len(b) > n {
		b = b[:n]
	}
	return strings.TrimSpace(string(b))
}
