package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Shared header values (net/http only reads them).
var (
	textPlain = []string{"text/plain; charset=utf-8"}
	noSniff   = []string{"nosniff"}
	closeConn = []string{"close"}
	allowPost = []string{http.MethodPost}
	okBody    = []byte("ok\n")
	newline   = []byte("\n")
)

// Handler is the webhook receiver: an http.Handler that verifies, limits, maps and
// publishes webhooks, answering 200 only once the publisher acknowledged. Safe for
// concurrent use.
type Handler struct {
	cfg        Config
	def        *target // the one org's endpoint (nil with cfg.Orgs)
	seen       *seen
	m          *metrics
	track      track
	body       budget
	log        *slog.Logger
	retryAfter string
	lastWarn   atomic.Int64 // unix nanos of the last publish-failure warning
}

// New validates cfg and returns the handler publishing to pub.
func New(cfg Config, pub sinks.Publisher) (*Handler, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pub == nil && cfg.Orgs == nil {
		return nil, errors.New("webhook: a publisher is required")
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("webhook: metrics: %w", err)
	}
	var def *target
	if cfg.Orgs == nil {
		def = &target{org: cfg.OrgUUID, ver: newVerifier(cfg.Secrets), pub: pub, name: cfg.DeviceName}
	}
	return &Handler{cfg: cfg, def: def, seen: newSeen(cfg.SeenSize), m: m,
		track: track{max: cfg.Concurrency}, body: budget{max: cfg.BodyBudget, gauge: m.buffered}, log: cfg.Logger.With("component", "webhook"),
		retryAfter: strconv.Itoa(int((cfg.RetryAfter + time.Second - 1) / time.Second))}, nil
}

// Drain makes the handler answer 503 with Retry-After to every new request and returns a
// channel closed once the requests in progress have been answered.
func (h *Handler) Drain() <-chan struct{} { return h.track.drain() }

// InFlight is the number of verified requests in progress (holding a slot).
func (h *Handler) InFlight() int { return h.track.inFlight() }

// BodyBytes is the number of body bytes buffered by requests in progress.
func (h *Handler) BodyBytes() int64 { return h.body.inUse() }

// ServeHTTP answers one webhook.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := h.serve(w, r, start)
	h.m.observe(code, time.Since(start))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, start time.Time) int {
	t := h.target(r.URL.Path)
	if code, msg := h.precheck(w, r, t); code != 0 {
		return h.refuse(w, code, msg)
	}
	raw, held, code, err := readBody(r.Body, r.ContentLength, h.cfg.MaxBytes, &h.body)
	if err != nil {
		w.Header()["Connection"] = closeConn
		return h.refuse(w, code, err.Error())
	}
	defer h.body.give(held)
	if !t.ver.verify(r.Header, raw) {
		h.m.sigFail.Inc()
		return h.answer(w, http.StatusUnauthorized, "bad or missing signature")
	}
	// From here the connection cap spares this connection, and a slot is taken: both
	// only for a verified request.
	defer protect(r.Context())()
	switch h.track.enter() {
	case busy:
		return h.unavailable(w, http.StatusTooManyRequests, "too many webhooks in progress")
	case draining:
		w.Header()["Connection"] = closeConn
		return h.unavailable(w, http.StatusServiceUnavailable, "shutting down")
	}
	defer h.track.leave()
	return h.accept(w, r, t, raw, start)
}

// precheck answers what needs no body: path, method, drain, a signature header that
// could verify, a declared length within MaxBytes. Code 0: read the body. A refused
// request's body is never read, and its connection is closed.
func (h *Handler) precheck(w http.ResponseWriter, r *http.Request, t *target) (int, string) {
	code, msg := 0, ""
	switch {
	case t == nil:
		code, msg = http.StatusNotFound, "not found"
	case r.Method != http.MethodPost:
		w.Header()["Allow"] = allowPost
		code, msg = http.StatusMethodNotAllowed, "only POST"
	case h.track.isDraining():
		code, msg = http.StatusServiceUnavailable, "shutting down"
	case !signatureHeader(r.Header):
		h.m.sigFail.Inc()
		code, msg = http.StatusUnauthorized, "bad or missing signature"
	case r.ContentLength > h.cfg.MaxBytes:
		code, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBytes)
	}
	if code != 0 {
		w.Header()["Connection"] = closeConn
	}
	return code, msg
}

// accept maps a verified body and publishes it.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request, t *target, raw []byte, start time.Time) int {
	ev, code, err := h.toEvent(t, raw, start)
	if err != nil {
		return h.refuse(w, code, err.Error())
	}
	if code == http.StatusOK { // already acknowledged by this process
		h.m.dups.Inc()
		return h.answer(w, code, "ok (duplicate)")
	}
	if int64(len(ev.Body))+eventOverhead > h.cfg.MaxEventBytes {
		return h.answer(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"the event would be %d bytes, more than the broker takes (%d)", len(ev.Body), h.cfg.MaxEventBytes))
	}
	return h.deliver(w, r, t, ev)
}

// eventOverhead is what a message adds to its CloudEvent on the way to the broker:
// headers, subject, the device name the pipeline may add.
const eventOverhead = 4 << 10

// toEvent maps a verified body. Code 200 with a nil error means the event was already
// acknowledged by this process; 0 means "publish ev".
func (h *Handler) toEvent(t *target, raw []byte, received time.Time) (event.Event, int, error) {
	if !utf8.Valid(raw) {
		return event.Event{}, http.StatusBadRequest, fmt.Errorf("%w: not UTF-8", errBadBody)
	}
	mp, err := mapBody(raw)
	if err != nil {
		return event.Event{}, http.StatusBadRequest, err
	}
	org := t.org()
	if org == "" {
		return event.Event{}, http.StatusServiceUnavailable, errors.New("organisation not known yet")
	}
	var ev event.Event
	if mp.invalid != nil {
		ev = event.Invalid(org, raw, mp.invalid, event.ViaWebhook)
	} else if ev, err = event.Build(org, event.ViaWebhook, event.Named(mp.data, t.name)); err != nil {
		return event.Event{}, http.StatusBadRequest, err
	}
	if h.seen.has(ev.ID) {
		return event.Event{}, http.StatusOK, nil
	}
	ev.Received = received
	return ev, 0, nil
}

// deliver publishes ev and answers 200 once the publisher acknowledged it, 503 when it
// did not within AckTimeout.
func (h *Handler) deliver(w http.ResponseWriter, r *http.Request, t *target, ev event.Event) int {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.AckTimeout)
	dup, err := t.publish(ctx, ev)
	cancel()
	if err != nil {
		h.warn("webhook not acknowledged", ev.ID, err)
		if errors.Is(err, sinks.ErrRejected) {
			return h.answer(w, http.StatusInternalServerError, "rejected by the broker")
		}
		return h.unavailable(w, http.StatusServiceUnavailable, "not acknowledged in time")
	}
	if dup {
		h.m.dups.Inc() // a copy that arrived another way (WebSocket, backfill) first
	} else {
		h.m.published.Inc()
	}
	h.seen.add(ev.ID)
	return h.answer(w, http.StatusOK, "ok")
}

// DupPublisher is a Publisher that can also say whether an event was a duplicate of one
// it acknowledged recently (the pipeline is one); the handler counts those as duplicates.
type DupPublisher interface {
	PublishDup(ctx context.Context, ev event.Event) (dup bool, err error)
}

func (t *target) publish(ctx context.Context, ev event.Event) (bool, error) {
	if dp, ok := t.pub.(DupPublisher); ok {
		return dp.PublishDup(ctx, ev)
	}
	return false, t.pub.Publish(ctx, ev)
}

// warn logs publish failures, at most one a second (an outage fails every request).
func (h *Handler) warn(msg, id string, err error) {
	now := time.Now().UnixNano()
	last := h.lastWarn.Load()
	if now-last < int64(time.Second) || !h.lastWarn.CompareAndSwap(last, now) {
		return
	}
	h.log.Warn(msg, "event_id", id, "error", err)
}

// refuse answers code, with Retry-After when it is 503.
func (h *Handler) refuse(w http.ResponseWriter, code int, msg string) int {
	if code == http.StatusServiceUnavailable {
		return h.unavailable(w, code, msg)
	}
	return h.answer(w, code, msg)
}

func (h *Handler) unavailable(w http.ResponseWriter, code int, msg string) int {
	w.Header()["Retry-After"] = []string{h.retryAfter}
	return h.answer(w, code, msg)
}

func (h *Handler) answer(w http.ResponseWriter, code int, msg string) int {
	hdr := w.Header()
	hdr["Content-Type"] = textPlain
	hdr["X-Content-Type-Options"] = noSniff
	w.WriteHeader(code)
	if msg == "ok" {
		_, _ = w.Write(okBody)
		return code
	}
	_, _ = io.WriteString(w, msg)
	_, _ = w.Write(newline)
	if code >= 400 && code != http.StatusServiceUnavailable {
		h.log.Debug("webhook refused", "status", code, "reason", msg)
	}
	return code
}
