package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/httpx"
)

// FaultList is the body of GET /callplane/faults.
type FaultList struct {
	Value []fault.Rule `json:"value"`
}

// DropRequest is the body of POST /callplane/calls/{id}/drop: the
// resultInfo the call ends with, one of the service's end reasons (none:
// a media connectivity failure, 410/301005).
type DropRequest struct {
	Code    int `json:"code"`
	Subcode int `json:"subcode"`
}

func (a *API) faultRoutes() {
	a.mux.HandleFunc("POST /callplane/faults", a.addFault)
	a.mux.HandleFunc("GET /callplane/faults", a.listFaults)
	a.mux.HandleFunc("DELETE /callplane/faults", a.clearFaults)
	a.mux.HandleFunc("DELETE /callplane/faults/{id}", a.removeFault)
	a.mux.HandleFunc("POST /callplane/calls/{id}/drop", a.dropCall)
}

func (a *API) addFault(w http.ResponseWriter, r *http.Request) {
	data, err := httpx.ReadBody(w, r, maxBody)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "The body could not be read: "+err.Error())
		return
	}
	rule, err := fault.Parse(data)
	if err == nil {
		rule, err = a.Faults.Add(rule)
	}
	if err != nil {
		a.faultFailed(w, err)
		return
	}
	w.Header().Set("Location", "/callplane/faults/"+rule.ID)
	writeJSON(w, http.StatusCreated, rule)
}

func (a *API) listFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, FaultList{Value: a.Faults.List()})
}

func (a *API) clearFaults(w http.ResponseWriter, r *http.Request) {
	if err := a.Faults.Clear(); err != nil {
		a.faultFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) removeFault(w http.ResponseWriter, r *http.Request) {
	removed, err := a.Faults.Remove(r.PathValue("id"))
	if err != nil {
		a.faultFailed(w, err)
		return
	}
	if !removed {
		writeError(w, http.StatusNotFound, "notFound", "No fault rule "+r.PathValue("id")+" (it may have been used up or expired).")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// faultFailed answers a refused rule 400, and a failure of the rules
// shared by a cluster's nodes 500.
func (a *API) faultFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, fault.ErrShared) {
		a.Log.Error("fault rules", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "badRequest", err.Error())
}

func (a *API) dropCall(w http.ResponseWriter, r *http.Request) {
	var req DropRequest
	if !readJSON(w, r, &req, true) {
		return
	}
	reason, ok := call.ServiceEndReason(req.Code, req.Subcode)
	if !ok {
		msg := fmt.Sprintf("%d/%d is not an end the service gives a call; use one of", req.Code, req.Subcode)
		for _, r := range call.ServiceEndReasons {
			msg += fmt.Sprintf(" %d/%d", r.Code, r.Subcode)
		}
		writeError(w, http.StatusBadRequest, "badRequest", msg+".")
		return
	}
	if err := a.World.Drop(r.Context(), graph.NormalizeID(r.PathValue("id")), reason); err != nil {
		a.worldFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
