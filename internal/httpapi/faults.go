package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/fault"
)

// Faults has the API misbehave as the rules of set say.
func Faults(set *fault.Set) Option { return func(a *API) { a.faults = set } }

// inject applies the Graph fault rule that matches the request, if any: it
// waits out a latency, then answers a failure status itself (true) or
// lets the request through (false).
func (a *API) inject(w http.ResponseWriter, r *http.Request, p *auth.Principal) bool {
	if !a.faults.Active(fault.Graph) {
		return false
	}
	path := strings.TrimPrefix(r.URL.Path, "/"+version(r))
	e, ok := a.faults.GraphRequest(fault.Request{Method: r.Method, Path: path, AppID: p.AppID, CallID: r.PathValue("id")})
	if !ok {
		return false
	}
	a.log.Info("fault rule applied to a request", "rule", e.RuleID, "method", r.Method, "path", r.URL.Path, "status", e.Status, "latency", e.Latency)
	if e.Latency > 0 {
		t := time.NewTimer(e.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if e.Status == 0 {
		return false
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeError(w, r, e.Status, fault.GraphCode(e.Status), faultMessage(e))
	return true
}

// faultMessage is the message of an injected failure: what Graph says for
// the status, and which rule made it.
func faultMessage(e fault.Effect) string {
	var say string
	switch e.Status {
	case http.StatusTooManyRequests:
		say = "Too many requests."
		if e.RetryAfter > 0 {
			say = fmt.Sprintf("Too many requests; retry after %d seconds.", e.RetryAfter)
		}
	case http.StatusServiceUnavailable:
		say = "The service is temporarily unavailable."
	case http.StatusGatewayTimeout:
		say = "The request timed out."
	default:
		say = "An internal server error occurred."
	}
	return say + " (callplane fault rule " + e.RuleID + ")"
}
