// Package gosdk is callplane's conformance suite for Microsoft's Graph SDK for
// Go (github.com/microsoftgraph/msgraph-sdk-go). It runs a real callplane and
// a recording bot on loopback and drives the calls API only through the SDK's
// typed API, as a Go bot does: it proves that callplane's tokens, requests,
// responses, errors and callback notifications are what the SDK sends and
// can read, parsed by the SDK's own models.
//
// It is a module of its own so that callplane's build never compiles the SDK
// (a cold build takes minutes and gigabytes). Run it with
//
//	cd conformance/gosdk && go test ./...
//
// To add a case, start from setup, which returns a running callplane, a bot
// and an SDK client for it.
package gosdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/callplane/callplane/internal/auth/registrytest"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// graphScope is what a bot asks Entra ID for to call Graph as itself.
const graphScope = "https://graph.microsoft.com/.default"

// wait bounds every wait for callplane or the bot; a healthy run needs a
// fraction of a second.
const wait = 10 * time.Second

// harness is one test's world: callplane, a bot whose URL is the callbackUri,
// and an SDK client holding a token callplane issued.
type harness struct {
	env    *testenv.Env
	bot    *testbot.Bot
	client *msgraph.GraphServiceClient
	ctx    context.Context
	// app is the client id of the application the client acts as; empty
	// for the dev application.
	app string
}

// setup starts callplane (with edits to its configuration) and a bot,
// obtains a token as a Go bot does and builds the SDK client for the
// plain-http Graph base URL. Everything stops when the test ends.
func setup(t *testing.T, edits ...func(*server.Config)) *harness {
	t.Helper()
	bot := testbot.Start(t) // first, so that it stops after callplane
	withTLS := func(c *server.Config) { c.TLSListen = "127.0.0.1:0" }
	env := testenv.Start(t, append([]func(*server.Config){withTLS}, edits...)...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	client, err := NewCallplaneClient(env.URL+"/v1.0", azidentityToken(t, ctx, env))
	if err != nil {
		t.Fatalf("NewCallplaneClient: %v", err)
	}
	return &harness{env: env, bot: bot, client: client, ctx: ctx}
}

// azidentityToken obtains the token the way a Go bot does against Entra ID:
// azidentity's ClientSecretCredential (MSAL inside) with the dev
// application's id and secret, pointed at callplane's HTTPS listener as the
// authority of a private cloud. MSAL insists on https and, without
// DisableInstanceDiscovery, would ask login.microsoft.com about the
// authority.
func azidentityToken(t *testing.T, ctx context.Context, env *testenv.Env) string {
	t.Helper()
	app := env.Server.Directory().DefaultApplication()
	return azidentityTokenFor(t, ctx, env, app.ClientID, app.Secret)
}

// trustingCallplane is a client that trusts callplane's CA.
func trustingCallplane(t *testing.T, env *testenv.Env) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(env.Server.CACertPath())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", env.Server.CACertPath())
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// azidentityTokenFor is azidentityToken for a registered application and
// one of its secrets.
func azidentityTokenFor(t *testing.T, ctx context.Context, env *testenv.Env, clientID, secret string) string {
	t.Helper()
	cred, err := NewCallplaneCredential(env.Server.TLSURL(), env.Server.Directory().TenantID(), clientID, secret, trustingCallplane(t, env))
	if err != nil {
		t.Fatalf("NewClientSecretCredential: %v", err)
	}
	return getToken(t, ctx, cred)
}

// getToken asks a credential for a Graph token, as the SDK's
// authentication provider does.
func getToken(t *testing.T, ctx context.Context, cred azcore.TokenCredential) string {
	t.Helper()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}})
	if err != nil {
		t.Fatalf("GetToken from callplane's token endpoint: %v", err)
	}
	if tok.Token == "" || !tok.ExpiresOn.After(time.Now()) {
		t.Fatalf("GetToken: token %q expires %v", tok.Token, tok.ExpiresOn)
	}
	return tok.Token
}

// TestCertificateCredential: a bot that authenticates with a certificate,
// through azidentity's ClientCertificateCredential (MSAL signs the client
// assertion), gets a token callplane accepts.
func TestCertificateCredential(t *testing.T) {
	h := setup(t)
	dir := h.env.Server.Directory()
	app := dir.DefaultApplication()
	cert := registrytest.NewCertificate(t, "CN=go bot")
	if _, err := dir.AddCertificate(app.ClientID, "go bot", cert.PEM); err != nil {
		t.Fatal(err)
	}
	cred, err := NewCallplaneCertificateCredential(h.env.Server.TLSURL(), dir.TenantID(), app.ClientID, []*x509.Certificate{cert.Cert}, cert.Key, trustingCallplane(t, h.env))
	if err != nil {
		t.Fatalf("NewClientCertificateCredential: %v", err)
	}
	client, err := NewCallplaneClient(h.env.URL+"/v1.0", getToken(t, h.ctx, cred))
	if err != nil {
		t.Fatal(err)
	}
	created, err := client.Communications().Calls().Post(h.ctx, newPeerToPeerCall(h.bot.URL), nil)
	if err != nil {
		t.Fatalf("create call with the certificate credential's token: %s", describe(err))
	}
	checkState(t, "created", created, models.ESTABLISHING_CALLSTATE)
}

// TestPeerToPeerCallLifecycle places a call to a user, reads it, keeps it
// alive, hangs up, and checks the typed responses, the typed errors once the
// call is gone, and every notification the bot received, read with the SDK's
// models.
func TestPeerToPeerCallLifecycle(t *testing.T) {
	h := setup(t)
	calls := h.client.Communications().Calls()
	dir := h.env.Server.Directory()

	// Create: 201 with the call in state establishing.
	created, err := calls.Post(h.ctx, newPeerToPeerCall(h.bot.URL), nil)
	if err != nil {
		t.Fatalf("create call: %v", describe(err))
	}
	id := deref(created.GetId())
	if id == "" || deref(created.GetMyParticipantId()) == "" || deref(created.GetCallChainId()) == "" {
		t.Fatalf("created call: id %q, myParticipantId %q, callChainId %q; want all set",
			id, deref(created.GetMyParticipantId()), deref(created.GetCallChainId()))
	}
	checkState(t, "created call", created, models.ESTABLISHING_CALLSTATE)
	checkCall(t, "created call", created, h.bot.URL, dir.TenantID(), dir.DefaultApplication().ClientID)
	resource := "/communications/calls/" + id

	// Get: established once the bot was told the callee answered.
	notes := h.bot.WaitAcked(t, wait, resource, 2)
	if notes[1].State != "established" {
		t.Fatalf("second notification: state %q, want established:\n%s", notes[1].State, testbot.Describe(notes))
	}
	got, err := calls.ByCallId(id).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("get call: %v", describe(err))
	}
	if deref(got.GetId()) != id || deref(got.GetMyParticipantId()) != deref(created.GetMyParticipantId()) ||
		deref(got.GetCallChainId()) != deref(created.GetCallChainId()) {
		t.Errorf("got call %s/%s/%s, created %s/%s/%s (id/myParticipantId/callChainId)",
			deref(got.GetId()), deref(got.GetMyParticipantId()), deref(got.GetCallChainId()),
			id, deref(created.GetMyParticipantId()), deref(created.GetCallChainId()))
	}
	checkState(t, "got call", got, models.ESTABLISHED_CALLSTATE)
	checkCall(t, "got call", got, h.bot.URL, dir.TenantID(), dir.DefaultApplication().ClientID)

	// keepAlive: 200 with an empty body.
	if err := calls.ByCallId(id).KeepAlive().Post(h.ctx, nil); err != nil {
		t.Fatalf("keepAlive: %v", describe(err))
	}

	// Delete: 204; the call then ends, and the bot is told.
	if err := calls.ByCallId(id).Delete(h.ctx, nil); err != nil {
		t.Fatalf("delete call: %v", describe(err))
	}
	h.bot.WaitAcked(t, wait, resource, 4)

	// The ended call is gone: Graph's 404 with code 8522, as typed errors.
	_, err = calls.ByCallId(id).Get(h.ctx, nil)
	checkODataError(t, "get deleted call", err, http.StatusNotFound, "8522")
	err = calls.ByCallId(id).Delete(h.ctx, nil)
	checkODataError(t, "delete deleted call", err, http.StatusNotFound, "8522")

	// Every notification, as the SDK's models read it.
	checkNotifications(t, h.bot.Bodies(), id, []wantNotification{
		{models.UPDATED_CHANGETYPE, models.ESTABLISHING_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.ESTABLISHED_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.TERMINATING_CALLSTATE},
		{models.DELETED_CHANGETYPE, models.TERMINATED_CALLSTATE},
	})
}

// Test user the simulated callee answers as.
const (
	userID   = "8d1e2f3a-0000-4000-8000-000000000001"
	userName = "Alex Wilber"
)

// newPeerToPeerCall is a service-hosted audio call to a user, reporting to
// callbackURI, built with the SDK's models as a bot builds it.
func newPeerToPeerCall(callbackURI string) models.Callable {
	user := models.NewIdentity()
	user.SetId(ptr(userID))
	user.SetDisplayName(ptr(userName))
	identity := models.NewIdentitySet()
	identity.SetUser(user)
	target := models.NewInvitationParticipantInfo()
	target.SetIdentity(identity)

	call := models.NewCall()
	call.SetCallbackUri(ptr(callbackURI))
	call.SetTargets([]models.InvitationParticipantInfoable{target})
	call.SetRequestedModalities([]models.Modality{models.AUDIO_MODALITY})
	call.SetMediaConfig(models.NewServiceHostedMediaConfig())
	return call
}

func checkState(t *testing.T, what string, c models.Callable, want models.CallState) {
	t.Helper()
	if got := c.GetState(); got == nil || *got != want {
		t.Errorf("%s: state %v, want %v", what, stateString(got), want)
	}
}

// checkCall checks what a call from the API says beyond its state: the
// request echoed back, typed by the SDK's discriminators, with nothing the
// SDK's model does not declare.
func checkCall(t *testing.T, what string, c models.Callable, callbackURI, tenantID, appID string) {
	t.Helper()
	if got := deref(c.GetCallbackUri()); got != callbackURI {
		t.Errorf("%s: callbackUri %q, want %q", what, got, callbackURI)
	}
	if got := deref(c.GetTenantId()); got != tenantID {
		t.Errorf("%s: tenantId %q, want %q", what, got, tenantID)
	}
	if d := c.GetDirection(); d == nil || *d != models.OUTGOING_CALLDIRECTION {
		t.Errorf("%s: direction %v, want outgoing", what, d)
	}
	if m := c.GetRequestedModalities(); len(m) != 1 || m[0] != models.AUDIO_MODALITY {
		t.Errorf("%s: requestedModalities %v, want [audio]", what, m)
	}
	if _, ok := c.GetMediaConfig().(models.ServiceHostedMediaConfigable); !ok {
		t.Errorf("%s: mediaConfig is %T, want a serviceHostedMediaConfig", what, c.GetMediaConfig())
	}
	targets := c.GetTargets()
	if len(targets) != 1 || targets[0].GetIdentity() == nil || targets[0].GetIdentity().GetUser() == nil {
		t.Fatalf("%s: targets %v, want one user", what, targets)
	}
	user := targets[0].GetIdentity().GetUser()
	if deref(user.GetId()) != userID || deref(user.GetDisplayName()) != userName {
		t.Errorf("%s: target user %q %q, want %q %q", what, deref(user.GetId()), deref(user.GetDisplayName()), userID, userName)
	}
	source := c.GetSource()
	if source == nil || source.GetIdentity() == nil || source.GetIdentity().GetApplication() == nil {
		t.Fatalf("%s: source %v, want the application", what, source)
	}
	if got := deref(source.GetIdentity().GetApplication().GetId()); got != appID {
		t.Errorf("%s: source application %q, want %q", what, got, appID)
	}
	if got := deref(source.GetParticipantId()); got != deref(c.GetMyParticipantId()) {
		t.Errorf("%s: source participantId %q, want myParticipantId %q", what, got, deref(c.GetMyParticipantId()))
	}
	checkDeclared(t, what, c, c.GetMediaConfig(), source, source.GetIdentity(), targets[0], targets[0].GetIdentity(), user)
}

// checkDeclared fails if a model holds a property the SDK's model does not
// declare (kiota keeps those in AdditionalData). OData annotations such as
// @odata.id are not properties and are allowed, and so are the open
// properties Graph sends beyond v1.0's schema.
func checkDeclared(t *testing.T, what string, values ...any) {
	t.Helper()
	for _, v := range values {
		holder, ok := v.(interface{ GetAdditionalData() map[string]any })
		if !ok {
			continue
		}
		for key := range holder.GetAdditionalData() {
			if !strings.HasPrefix(key, "@") && !slices.Contains(openProperties[fmt.Sprintf("%T", v)], key) {
				t.Errorf("%s: %T has %q, which the SDK's model does not declare", what, v, key)
			}
		}
	}
}

// openProperties are the properties of open types that Graph sends and
// v1.0's schema does not declare: recordOperation's completionReason, as the
// cancelMediaProcessing page shows it, and the ApplicationType that names a
// large gallery view's identity.
var openProperties = map[string][]string{
	"*models.RecordOperation": {"completionReason"},
	"*models.Identity":        {"ApplicationType"},
}

// checkODataError checks that err is the SDK's typed Graph error with the
// status and code.
func checkODataError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Errorf("%s: error %T %v, want *odataerrors.ODataError", what, err, err)
		return
	}
	if oe.ResponseStatusCode != status {
		t.Errorf("%s: status %d, want %d", what, oe.ResponseStatusCode, status)
	}
	body := oe.GetErrorEscaped()
	if body == nil {
		t.Errorf("%s: no error body", what)
		return
	}
	if got := deref(body.GetCode()); got != code {
		t.Errorf("%s: code %q, want %q (message %q)", what, got, code, deref(body.GetMessage()))
	}
	if deref(body.GetMessage()) == "" {
		t.Errorf("%s: empty message", what)
	}
	inner := body.GetInnerError()
	if inner == nil || inner.GetDate() == nil {
		t.Errorf("%s: innerError without date", what)
		return
	}
	if id := oe.GetResponseHeaders().Get("request-id"); len(id) != 1 || deref(inner.GetRequestId()) != id[0] {
		t.Errorf("%s: innerError request-id %q, response header %q", what, deref(inner.GetRequestId()), id)
	}
}

type wantNotification struct {
	change models.ChangeType
	state  models.CallState
}

// checkNotifications reads every callback body on the call with the SDK's
// JSON parse node and models, and checks that they are exactly want, in
// order; the last one (the call ended) must carry resultInfo code 0.
func checkNotifications(t *testing.T, bodies [][]byte, callID string, want []wantNotification) {
	t.Helper()
	resource := "/communications/calls/" + callID
	var got []wantNotification
	for i, body := range bodies {
		root, err := jsonserialization.NewJsonParseNode(body)
		if err != nil {
			t.Fatalf("body %d: %v\n%s", i, err, body)
		}
		v, err := root.GetObjectValue(createCommsNotifications)
		if err != nil {
			t.Fatalf("body %d: %v\n%s", i, err, body)
		}
		env := v.(*commsNotifications)
		if deref(env.odataType) != "#microsoft.graph.commsNotifications" || len(env.value) != 1 {
			t.Fatalf("body %d: @odata.type %q and %d notifications, want #microsoft.graph.commsNotifications and one\n%s",
				i, deref(env.odataType), len(env.value), body)
		}
		n := env.value[0]
		checkDeclared(t, "notification body", env, n)
		if deref(n.resourceURL) != resource {
			continue // another call's
		}
		if deref(n.odataType) != "#microsoft.graph.commsNotification" || n.changeType == nil {
			t.Fatalf("body %d: @odata.type %q, changeType %v\n%s", i, deref(n.odataType), n.changeType, body)
		}
		c, err := n.resourceCall()
		if err != nil {
			t.Fatalf("body %d: resourceData: %v\n%s", i, err, body)
		}
		what := "notification " + n.changeType.String() + "/" + stateString(c.GetState())
		checkDeclared(t, what, c, c.GetResultInfo())
		if deref(c.GetId()) != callID {
			t.Errorf("%s: resourceData id %q, want %q", what, deref(c.GetId()), callID)
		}
		if deref(c.GetOdataType()) != "#microsoft.graph.call" {
			t.Errorf("%s: resourceData @odata.type %q", what, deref(c.GetOdataType()))
		}
		if c.GetState() == nil {
			t.Fatalf("body %d: resourceData without state\n%s", i, body)
		}
		if *c.GetState() == models.TERMINATED_CALLSTATE {
			ri := c.GetResultInfo()
			if ri == nil || ri.GetCode() == nil || *ri.GetCode() != 0 {
				t.Errorf("%s: resultInfo %s, want code 0\n%s", what, resultString(ri), body)
			}
		}
		got = append(got, wantNotification{*n.changeType, *c.GetState()})
	}
	if len(got) != len(want) {
		t.Fatalf("notifications on %s: %v, want %v", resource, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("notifications on %s: %v, want %v", resource, got, want)
		}
	}
}

func (n wantNotification) String() string { return n.change.String() + "/" + n.state.String() }

// describe adds what an SDK error carries to its message.
func describe(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		return oe.Error() + " (status " + http.StatusText(oe.ResponseStatusCode) + ", code " + deref(oe.GetErrorEscaped().GetCode()) + ")"
	}
	return err.Error()
}

func stateString(s *models.CallState) string {
	if s == nil {
		return "<none>"
	}
	return s.String()
}

func resultString(ri models.ResultInfoable) string {
	if ri == nil {
		return "<none>"
	}
	b, _ := json.Marshal(map[string]any{"code": ri.GetCode(), "subcode": ri.GetSubcode(), "message": ri.GetMessage()})
	return string(b)
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
