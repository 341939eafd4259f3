package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
)

// CallEnder ends an application's calls: what removing it does.
type CallEnder interface {
	EndCalls(ctx context.Context, owner call.Owner, reason call.Result) (int, error)
}

// applicationRoutes registers the tenant's app registrations, managed at
// run time and effective at once.
func (a *API) applicationRoutes() {
	a.mux.HandleFunc("GET /callplane/applications", a.listApplications)
	a.mux.HandleFunc("POST /callplane/applications", a.addApplication)
	a.mux.HandleFunc("GET /callplane/applications/{id}", a.showApplication)
	a.mux.HandleFunc("PATCH /callplane/applications/{id}", a.updateApplication)
	a.mux.HandleFunc("DELETE /callplane/applications/{id}", a.removeApplication)
	a.mux.HandleFunc("POST /callplane/applications/{id}/secrets", a.addSecret)
	a.mux.HandleFunc("DELETE /callplane/applications/{id}/secrets/{sid}", a.removeSecret)
	a.mux.HandleFunc("POST /callplane/applications/{id}/certificates", a.addCertificate)
	a.mux.HandleFunc("DELETE /callplane/applications/{id}/certificates/{cid}", a.removeCertificate)
}

// ApplicationView is an app registration as the admin API shows it: never
// a secret's value (shown once, when it is made) nor its hash.
type ApplicationView struct {
	ID                 string            `json:"id"`
	DisplayName        string            `json:"displayName"`
	Roles              []string          `json:"roles"`
	CallingWebhook     string            `json:"callingWebhook,omitempty"`
	ServicePrincipalID string            `json:"servicePrincipalId"`
	DevApplication     bool              `json:"devApplication,omitempty"`
	CreatedAt          time.Time         `json:"createdDateTime,omitzero"`
	Secrets            []SecretView      `json:"secrets"`
	Certificates       []CertificateView `json:"certificates"`
	Instances          []InstanceView    `json:"instances"`
}

// SecretView describes a client secret.
type SecretView struct {
	SecretID    string    `json:"secretId"`
	DisplayName string    `json:"displayName,omitempty"`
	Hint        string    `json:"hint"`
	CreatedAt   time.Time `json:"createdDateTime"`
	ExpiresAt   time.Time `json:"endDateTime,omitzero"`
}

// NewSecretView is a secret just made, with its value, shown this once.
type NewSecretView struct {
	SecretView
	ClientSecret string `json:"clientSecret"`
}

// CertificateView describes a certificate credential.
type CertificateView struct {
	CertificateID    string    `json:"certificateId"`
	DisplayName      string    `json:"displayName,omitempty"`
	Thumbprint       string    `json:"thumbprint"`
	ThumbprintSHA256 string    `json:"thumbprintSha256"`
	Subject          string    `json:"subject"`
	NotBefore        time.Time `json:"startDateTime"`
	NotAfter         time.Time `json:"endDateTime"`
}

// NewApplicationView answers POST /callplane/applications: the registration
// with its first secret.
type NewApplicationView struct {
	ApplicationView
	ClientSecret string `json:"clientSecret"`
	SecretID     string `json:"secretId"`
}

// ApplicationList is the body of GET /callplane/applications.
type ApplicationList struct {
	Value []ApplicationView `json:"value"`
}

// RemovedApplication answers DELETE /callplane/applications/{id}.
type RemovedApplication struct {
	ID string `json:"id"`
	// EndedCalls is how many live calls were ended, with resultInfo
	// 403/7504.
	EndedCalls int `json:"endedCalls"`
}

// ApplicationRequest creates or changes a registration; on PATCH, absent
// fields stay as they are. Roles left out of a new registration are every
// Calls.* role.
type ApplicationRequest struct {
	DisplayName    *string   `json:"displayName"`
	Roles          *[]string `json:"roles"`
	CallingWebhook *string   `json:"callingWebhook"`
}

// SecretRequest adds a client secret.
type SecretRequest struct {
	DisplayName string    `json:"displayName"`
	ExpiresAt   time.Time `json:"endDateTime"`
}

// CertificateRequest adds a certificate credential: the PEM of one
// certificate (its key stays with the application).
type CertificateRequest struct {
	Certificate string `json:"certificate"`
	DisplayName string `json:"displayName"`
}

// devApplication is the client id of the registry's dev application: its
// first.
func (a *API) devApplication() string {
	if apps := a.Applications.Applications(); len(apps) > 0 {
		return apps[0].ClientID
	}
	return ""
}

func viewOfApp(app auth.Application, devID string) ApplicationView {
	v := ApplicationView{
		ID:                 app.ClientID,
		DisplayName:        app.DisplayName,
		Roles:              app.Roles,
		CallingWebhook:     app.CallingWebhook,
		ServicePrincipalID: app.ObjectID,
		CreatedAt:          app.CreatedAt,
		Secrets:            []SecretView{},
		Certificates:       []CertificateView{},
	}
	v.DevApplication = app.ClientID == devID
	for _, s := range app.Secrets {
		v.Secrets = append(v.Secrets, secretView(s))
	}
	for _, c := range app.Certificates {
		v.Certificates = append(v.Certificates, certificateView(c))
	}
	v.Instances = []InstanceView{}
	for _, in := range app.Instances {
		v.Instances = append(v.Instances, instanceView(in))
	}
	return v
}

func secretView(s auth.SecretCredential) SecretView {
	return SecretView{SecretID: s.ID, DisplayName: s.DisplayName, Hint: s.Hint, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
}

func certificateView(c auth.CertificateCredential) CertificateView {
	return CertificateView{
		CertificateID: c.ID, DisplayName: c.DisplayName, Thumbprint: c.Thumbprint, ThumbprintSHA256: c.ThumbprintSHA256,
		Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
	}
}

func (a *API) listApplications(w http.ResponseWriter, r *http.Request) {
	apps := a.Applications.Applications()
	out := ApplicationList{Value: make([]ApplicationView, 0, len(apps))}
	for _, app := range apps {
		out.Value = append(out.Value, viewOfApp(app, apps[0].ClientID))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) showApplication(w http.ResponseWriter, r *http.Request) {
	app, ok := a.Applications.Application(r.PathValue("id"))
	if !ok {
		a.appFailed(w, auth.ErrNoSuchApplication)
		return
	}
	writeJSON(w, http.StatusOK, viewOfApp(app, a.devApplication()))
}

func (a *API) addApplication(w http.ResponseWriter, r *http.Request) {
	var req ApplicationRequest
	if !readJSON(w, r, &req, true) || !a.checkWebhook(w, req.CallingWebhook) {
		return
	}
	var s auth.AppSettings
	if req.DisplayName != nil {
		s.DisplayName = *req.DisplayName
	}
	if req.Roles != nil {
		s.Roles = append([]string{}, *req.Roles...) // [] is no roles, not every role
	}
	if req.CallingWebhook != nil {
		s.CallingWebhook = *req.CallingWebhook
	}
	app, secret, err := a.Applications.AddApplication(s)
	if err != nil {
		a.appFailed(w, err)
		return
	}
	w.Header().Set("Location", "/callplane/applications/"+app.ClientID)
	writeJSON(w, http.StatusCreated, NewApplicationView{ApplicationView: viewOfApp(app, a.devApplication()), ClientSecret: secret.Value, SecretID: secret.ID})
}

func (a *API) updateApplication(w http.ResponseWriter, r *http.Request) {
	var req ApplicationRequest
	if !readJSON(w, r, &req, false) || !a.checkWebhook(w, req.CallingWebhook) {
		return
	}
	app, err := a.Applications.UpdateApplication(r.PathValue("id"), auth.AppChanges{
		DisplayName: req.DisplayName, Roles: req.Roles, CallingWebhook: req.CallingWebhook,
	})
	if err != nil {
		a.appFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOfApp(app, a.devApplication()))
}

// removeApplication deletes a registration: from now on its tokens are
// refused, and its live calls end (their last notifications are still
// delivered, signed for the application as before).
func (a *API) removeApplication(w http.ResponseWriter, r *http.Request) {
	app, err := a.Applications.RemoveApplication(r.PathValue("id"))
	if err != nil {
		a.appFailed(w, err)
		return
	}
	ended, err := a.Calls.EndCalls(r.Context(), call.Owner{TenantID: a.TenantID, AppID: app.ClientID}, call.ApplicationRemoved)
	if err != nil {
		a.Log.Error("end a removed application's calls", "app", app.ClientID, "ended", ended, "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "The application was removed, but ending its calls failed: "+err.Error())
		return
	}
	a.Log.Info("application removed", "app", app.ClientID, "endedCalls", ended)
	writeJSON(w, http.StatusOK, RemovedApplication{ID: app.ClientID, EndedCalls: ended})
}

func (a *API) addSecret(w http.ResponseWriter, r *http.Request) {
	var req SecretRequest
	if !readJSON(w, r, &req, true) {
		return
	}
	secret, err := a.Applications.AddSecret(r.PathValue("id"), req.DisplayName, req.ExpiresAt)
	if err != nil {
		a.appFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, NewSecretView{SecretView: secretView(secret.SecretCredential), ClientSecret: secret.Value})
}

func (a *API) removeSecret(w http.ResponseWriter, r *http.Request) {
	if err := a.Applications.RemoveSecret(r.PathValue("id"), r.PathValue("sid")); err != nil {
		a.appFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) addCertificate(w http.ResponseWriter, r *http.Request) {
	var req CertificateRequest
	if !readJSON(w, r, &req, false) {
		return
	}
	cert, err := a.Applications.AddCertificate(r.PathValue("id"), req.DisplayName, []byte(req.Certificate))
	if err != nil {
		a.appFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, certificateView(cert))
}

func (a *API) removeCertificate(w http.ResponseWriter, r *http.Request) {
	if err := a.Applications.RemoveCertificate(r.PathValue("id"), r.PathValue("cid")); err != nil {
		a.appFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkWebhook vets a calling webhook as callback URIs are vetted; an empty
// one clears it.
func (a *API) checkWebhook(w http.ResponseWriter, webhook *string) bool {
	if webhook == nil || *webhook == "" || a.CheckURL == nil {
		return true
	}
	if err := a.CheckURL(*webhook); err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "callingWebhook: "+err.Error())
		return false
	}
	return true
}

func (a *API) appFailed(w http.ResponseWriter, err error) {
	var invalid *auth.InvalidError
	switch {
	case errors.Is(err, auth.ErrNoSuchApplication):
		writeError(w, http.StatusNotFound, "notFound", "No application has this id.")
	case errors.Is(err, auth.ErrNoSuchCredential):
		writeError(w, http.StatusNotFound, "notFound", "The application has no credential with this id.")
	case errors.Is(err, auth.ErrDevApplication):
		writeError(w, http.StatusConflict, "conflict", "The dev application cannot be removed: the banner, callplane token and loose mode act as it.")
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, "badRequest", invalid.Msg)
	default:
		a.Log.Error("applications", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "The registry failed: "+err.Error())
	}
}
