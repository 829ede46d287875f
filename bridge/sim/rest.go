package sim

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Call is one recorded REST call.
type Call struct {
	Path   string    `json:"path"`
	Time   time.Time `json:"time"`
	Status int       `json:"status"`
	Body   string    `json:"body"` // request body (first 4 KiB)
}

// Calls returns the recorded REST calls, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the recorded calls to path, oldest first.
func (s *Server) CallsTo(path string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

const rateLimitedBody = "Too many api requests. Enhance your calm."

type restHandler func(body []byte) (any, int)

func (s *Server) restRoutes() {
	routes := map[string]restHandler{
		"/api/org/getOrgV2":                                     s.getOrg,
		"/api/event/getPolicyAlertsV2":                          s.getPolicyAlerts,
		"/api/event/getPolicyAlertDetails":                      s.getPolicyAlertDetails,
		"/api/camera/getMinimalCameraStateList":                 s.getCameras,
		"/api/integrations/webhooks/updateWebhookIntegrationV2": s.updateWebhook,
		"/api/integrations/webhooks/getWebhookIntegration":      s.getWebhook,
	}
	for path, h := range routes {
		s.mux.Handle(path, s.rest(h))
	}
}

// rest wraps a handler with the method check, credentials, faults and call recording.
func (s *Server) rest(h restHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		status := s.serveREST(w, r, body, err, h)
		s.recordCall(r.URL.Path, status, body)
	})
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, body []byte, rerr error, h restHandler) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeText(w, http.StatusMethodNotAllowed, "method not allowed")
	}
	if r.Header.Get("x-auth-apikey") != s.cfg.APIKey || !hasScheme(r) {
		return writeText(w, http.StatusUnauthorized, "Unauthorized")
	}
	s.mu.Lock()
	f := &s.faults
	is429 := takeFault(&f.rest429N)
	is5xx := !is429 && takeFault(&f.rest5xxN)
	retry, code := f.retryAfter, f.rest5xxCode
	s.mu.Unlock()
	switch {
	case is429:
		secs := max(1, int(math.Ceil(retry.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return writeText(w, http.StatusTooManyRequests, rateLimitedBody)
	case is5xx:
		return writeText(w, code, http.StatusText(code))
	case rerr != nil:
		return writeText(w, http.StatusBadRequest, "cannot read body")
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	v, status := h(body)
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

func writeText(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
	return status
}

func (s *Server) recordCall(path string, status int, body []byte) {
	if len(body) > 4096 {
		body = body[:4096]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Path: path, Time: time.Now(), Status: status, Body: string(body)})
	if n := len(s.calls); n > s.cfg.MaxCalls {
		s.calls = append(s.calls[:0:0], s.calls[n-s.cfg.MaxCalls:]...)
	}
	s.notifyLocked()
}

func badRequest(err error) (any, int) {
	return map[string]any{"error": true, "errorMsg": err.Error()}, http.StatusBadRequest
}

func (s *Server) getOrg([]byte) (any, int) {
	return map[string]any{"org": map[string]any{"uuid": s.cfg.OrgUUID, "name": s.cfg.OrgName}}, 0
}

func (s *Server) getCameras([]byte) (any, int) {
	return map[string]any{"cameraStates": s.Cameras()}, 0
}

func (s *Server) getPolicyAlerts(body []byte) (any, int) {
	var q alertQuery
	if err := json.Unmarshal(body, &q); err != nil {
		return badRequest(err)
	}
	s.mu.Lock()
	limit := q.MaxResults
	if limit <= 0 || limit > s.cfg.RESTPageCap {
		limit = s.cfg.RESTPageCap
	}
	page := s.hist.query(q, s.cfg.NewestFirst, limit)
	recs := make([]Record, len(page))
	for i := range page {
		recs[i] = s.record(&page[i])
	}
	s.mu.Unlock()
	return map[string]any{"policyAlerts": recs}, 0
}

func (s *Server) getPolicyAlertDetails(body []byte) (any, int) {
	var q struct {
		UUID string `json:"policyAlertUuid"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		return badRequest(err)
	}
	if q.UUID == "" {
		return badRequest(errors.New("policyAlertUuid is required"))
	}
	a, ok := s.Alert(q.UUID)
	if !ok {
		// Rhombus answers 200 with an error flag for an unknown uuid.
		return map[string]any{"error": true, "errorMsg": "policy alert not found"}, 0
	}
	return map[string]any{"policyAlert": s.record(&a)}, 0
}
