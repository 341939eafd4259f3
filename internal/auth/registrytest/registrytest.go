// Package registrytest is the conformance suite every auth.Registry passes,
// and test support for certificate credentials. An engine's own test calls
// Run with a constructor for fresh registries (holding only their dev
// application).
package registrytest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/auth"
)

// Run runs the suite. open returns a new registry with its dev application
// and nothing else.
func Run(t *testing.T, open func(t *testing.T) auth.Registry) {
	tests := []struct {
		name string
		fn   func(*testing.T, auth.Registry)
	}{
		{"AddGetList", testAddGetList},
		{"Update", testUpdate},
		{"InvalidSettings", testInvalidSettings},
		{"Remove", testRemove},
		{"Secrets", testSecrets},
		{"Certificates", testCertificates},
		{"ConcurrentAdds", testConcurrentAdds},
		{"Instances", testInstances},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testAddGetList(t *testing.T, r auth.Registry) {
	before := r.Applications()
	if len(before) != 1 {
		t.Fatalf("a fresh registry holds %d applications, want the dev application alone", len(before))
	}
	app, secret, err := r.AddApplication(auth.AppSettings{DisplayName: "bot", CallingWebhook: "https://bot.example/calls"})
	must(t, err)
	if app.ClientID == "" || app.ObjectID == "" || app.DisplayName != "bot" || app.CallingWebhook != "https://bot.example/calls" {
		t.Fatalf("added %+v", app)
	}
	if !slices.Equal(app.Roles, auth.CallsRoles) {
		t.Fatalf("roles %v, want every Calls.* role by default", app.Roles)
	}
	if secret.Value == "" || secret.ID == "" || len(app.Secrets) != 1 || app.Secrets[0].ID != secret.ID || secret.Value[:3] != app.Secrets[0].Hint {
		t.Fatalf("first secret %+v of %+v", secret, app.Secrets)
	}
	must(t, app.CheckSecret(secret.Value, time.Now()))
	got, ok := r.Application(app.ClientID)
	if !ok || got.ClientID != app.ClientID || got.DisplayName != "bot" {
		t.Fatalf("Application(%s) = %+v, %v", app.ClientID, got, ok)
	}
	if roles, ok := r.Registered(app.ClientID); !ok || !slices.Equal(roles, auth.CallsRoles) {
		t.Fatalf("Registered = %v, %v", roles, ok)
	}
	list := r.Applications()
	if len(list) != 2 || list[0].ClientID != before[0].ClientID || list[1].ClientID != app.ClientID {
		t.Fatalf("list %v: want the dev application first, then the new one", list)
	}
	none, _, err := r.AddApplication(auth.AppSettings{DisplayName: "no roles", Roles: []string{}})
	must(t, err)
	if len(none.Roles) != 0 {
		t.Fatalf("explicitly no roles gave %v", none.Roles)
	}
	if _, ok := r.Application("nobody"); ok {
		t.Fatal("an unknown client id was found")
	}
}

func testUpdate(t *testing.T, r auth.Registry) {
	app, _, err := r.AddApplication(auth.AppSettings{DisplayName: "before"})
	must(t, err)
	name, roles := "after", []string{"Calls.JoinGroupCall.All"}
	got, err := r.UpdateApplication(app.ClientID, auth.AppChanges{DisplayName: &name, Roles: &roles})
	must(t, err)
	if got.DisplayName != "after" || !slices.Equal(got.Roles, roles) {
		t.Fatalf("updated %+v", got)
	}
	if current, _ := r.Registered(app.ClientID); !slices.Equal(current, roles) {
		t.Fatalf("roles took no effect: %v", current)
	}
	webhook := "https://bot.example/incoming"
	got, err = r.UpdateApplication(app.ClientID, auth.AppChanges{CallingWebhook: &webhook})
	must(t, err)
	if got.DisplayName != "after" || got.CallingWebhook != webhook {
		t.Fatalf("an update changed what it did not set: %+v", got)
	}
	if _, err := r.UpdateApplication("nobody", auth.AppChanges{DisplayName: &name}); !errors.Is(err, auth.ErrNoSuchApplication) {
		t.Fatalf("update of an unknown application: %v", err)
	}
}

func testInvalidSettings(t *testing.T, r auth.Registry) {
	var invalid *auth.InvalidError
	if _, _, err := r.AddApplication(auth.AppSettings{Roles: []string{"Calls.ReadEverything.All"}}); !errors.As(err, &invalid) {
		t.Fatalf("unknown role: %v", err)
	}
	long := string(make([]byte, 300))
	if _, _, err := r.AddApplication(auth.AppSettings{DisplayName: long}); !errors.As(err, &invalid) {
		t.Fatalf("display name of 300 characters: %v", err)
	}
	if len(r.Applications()) != 1 {
		t.Fatal("a refused application was registered")
	}
}

func testRemove(t *testing.T, r auth.Registry) {
	app, _, err := r.AddApplication(auth.AppSettings{DisplayName: "short-lived"})
	must(t, err)
	removed, err := r.RemoveApplication(app.ClientID)
	must(t, err)
	if removed.ClientID != app.ClientID {
		t.Fatalf("removed %+v", removed)
	}
	if _, ok := r.Registered(app.ClientID); ok {
		t.Fatal("a removed application is still registered")
	}
	if _, err := r.RemoveApplication(app.ClientID); !errors.Is(err, auth.ErrNoSuchApplication) {
		t.Fatalf("removing twice: %v", err)
	}
	dev := r.Applications()[0]
	if _, err := r.RemoveApplication(dev.ClientID); !errors.Is(err, auth.ErrDevApplication) {
		t.Fatalf("removing the dev application: %v", err)
	}
}

func testSecrets(t *testing.T, r auth.Registry) {
	app, first, err := r.AddApplication(auth.AppSettings{DisplayName: "rotating"})
	must(t, err)
	second, err := r.AddSecret(app.ClientID, "rotation", time.Time{})
	must(t, err)
	if second.Value == first.Value || second.ID == first.ID {
		t.Fatal("a new secret repeats the first")
	}
	app, _ = r.Application(app.ClientID)
	must(t, app.CheckSecret(first.Value, time.Now()))
	must(t, app.CheckSecret(second.Value, time.Now()))
	must(t, r.RemoveSecret(app.ClientID, first.ID))
	app, _ = r.Application(app.ClientID)
	if app.CheckSecret(first.Value, time.Now()) == nil {
		t.Fatal("a removed secret still authenticates")
	}
	must(t, app.CheckSecret(second.Value, time.Now()))
	if err := r.RemoveSecret(app.ClientID, first.ID); !errors.Is(err, auth.ErrNoSuchCredential) {
		t.Fatalf("removing a secret twice: %v", err)
	}
	expiring, err := r.AddSecret(app.ClientID, "", time.Now().Add(-time.Minute))
	must(t, err)
	app, _ = r.Application(app.ClientID)
	if err := app.CheckSecret(expiring.Value, time.Now()); !errors.Is(err, auth.ErrSecretExpired) {
		t.Fatalf("an expired secret: %v", err)
	}
	for _, s := range app.Secrets {
		if s.Hash == "" || s.Hash == second.Value {
			t.Fatalf("a secret is kept as %q", s.Hash)
		}
	}
}

func testCertificates(t *testing.T, r auth.Registry) {
	app, _, err := r.AddApplication(auth.AppSettings{DisplayName: "certified"})
	must(t, err)
	cert := NewCertificate(t, "CN=certified bot")
	c, err := r.AddCertificate(app.ClientID, "main", cert.PEM)
	must(t, err)
	if c.ID == "" || len(c.Thumbprint) != 40 || len(c.ThumbprintSHA256) != 64 || c.Subject != "CN=certified bot" {
		t.Fatalf("certificate %+v", c)
	}
	var invalid *auth.InvalidError
	if _, err := r.AddCertificate(app.ClientID, "", cert.PEM); !errors.As(err, &invalid) {
		t.Fatalf("the same certificate twice: %v", err)
	}
	if _, err := r.AddCertificate(app.ClientID, "", append(cert.PEM, cert.KeyPEM...)); !errors.As(err, &invalid) {
		t.Fatalf("a PEM with the private key: %v", err)
	}
	if _, err := r.AddCertificate(app.ClientID, "", []byte("not a certificate")); !errors.As(err, &invalid) {
		t.Fatalf("garbage: %v", err)
	}
	app, _ = r.Application(app.ClientID)
	if len(app.Certificates) != 1 {
		t.Fatalf("certificates %+v", app.Certificates)
	}
	must(t, r.RemoveCertificate(app.ClientID, c.ID))
	if err := r.RemoveCertificate(app.ClientID, c.ID); !errors.Is(err, auth.ErrNoSuchCredential) {
		t.Fatalf("removing a certificate twice: %v", err)
	}
}

func testInstances(t *testing.T, r auth.Registry) {
	app, _, err := r.AddApplication(auth.AppSettings{DisplayName: "phone bot"})
	must(t, err)
	in, err := r.AddInstance(app.ClientID, "front desk", "+15550123456")
	must(t, err)
	if in.ID == "" || in.PhoneNumber != "+15550123456" {
		t.Fatalf("instance %+v", in)
	}
	for _, key := range []string{in.ID, in.PhoneNumber} {
		owner, found, ok := r.Instance(key)
		if !ok || owner.ClientID != app.ClientID || found.ID != in.ID {
			t.Fatalf("Instance(%s) = %+v, %+v, %v", key, owner, found, ok)
		}
	}
	var invalid *auth.InvalidError
	if _, err := r.AddInstance(r.Applications()[0].ClientID, "", "+15550123456"); !errors.As(err, &invalid) {
		t.Fatalf("a phone number given twice: %v", err)
	}
	for _, bad := range []string{"5550123456", "+1555", "+1 555 0123", "+1555012345678901"} {
		if _, err := r.AddInstance(app.ClientID, "", bad); !errors.As(err, &invalid) {
			t.Errorf("phone number %q: %v", bad, err)
		}
	}
	must(t, r.RemoveInstance(app.ClientID, in.ID))
	if _, _, ok := r.Instance(in.PhoneNumber); ok {
		t.Fatal("a removed instance is still found")
	}
}

// testConcurrentAdds: registrations added at once are all kept, while
// requests read the registry (run it with -race).
func testConcurrentAdds(t *testing.T, r auth.Registry) {
	dev := r.Applications()[0].ClientID
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, _, err := r.AddApplication(auth.AppSettings{DisplayName: fmt.Sprint("bot ", i)}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, ok := r.Registered(dev); !ok || r.TenantID() == "" {
				t.Error("the dev application went missing while others were added")
			}
			r.Application(dev)
		}()
	}
	wg.Wait()
	if n := len(r.Applications()); n != 21 {
		t.Fatalf("%d applications after 20 concurrent adds, want 21", n)
	}
}

// Certificate is a self-signed certificate with its RSA key, for
// certificate credentials in tests.
type Certificate struct {
	Cert   *x509.Certificate
	Key    *rsa.PrivateKey
	PEM    []byte
	KeyPEM []byte
}

// NewCertificate makes a certificate for subject (a CN=... string), valid
// from an hour ago for a day.
func NewCertificate(t testing.TB, subject string) Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var name pkix.Name
	name.CommonName = subject[len("CN="):]
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      name,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Certificate{
		Cert:   cert,
		Key:    key,
		PEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// Refresher is a registry that several nodes share: Refresh reads what the
// other nodes changed. (Lookups that miss see new applications at once;
// changes to known ones wait for a refresh.)
type Refresher interface {
	Refresh(ctx context.Context) error
}

// RunShared runs the cases of a registry that several nodes share: open
// returns two registries over the same, new storage.
func RunShared(t *testing.T, open func(t *testing.T) (a, b auth.Registry)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b auth.Registry)
	}{
		{"OneTenant", testSharedTenant},
		{"AddedOnOneFoundOnTheOther", testSharedAdded},
		{"ChangesOnBothKept", testSharedConcurrentChanges},
		{"RemovedOnOneRefusedOnTheOther", testSharedRemoved},
		{"PhoneNumbersUniqueAcrossNodes", testSharedPhoneNumbers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			tc.fn(t, a, b)
		})
	}
}

func refresh(t *testing.T, r auth.Registry) {
	t.Helper()
	must(t, r.(Refresher).Refresh(context.Background()))
}

func testSharedTenant(t *testing.T, a, b auth.Registry) {
	if a.TenantID() != b.TenantID() || a.TenantID() == "" {
		t.Fatalf("tenants %q and %q", a.TenantID(), b.TenantID())
	}
	if da, db := a.Applications()[0], b.Applications()[0]; da.ClientID != db.ClientID {
		t.Fatalf("dev applications %s and %s", da.ClientID, db.ClientID)
	}
}

func testSharedAdded(t *testing.T, a, b auth.Registry) {
	app, secret, err := a.AddApplication(auth.AppSettings{DisplayName: "added on a"})
	must(t, err)
	// No refresh: a node asked about an application it does not know yet
	// looks again.
	got, ok := b.Application(app.ClientID)
	if !ok || got.CheckSecret(secret.Value, time.Now()) != nil {
		t.Fatalf("b.Application(%s) = %+v, %v", app.ClientID, got, ok)
	}
	if _, ok := b.Registered(app.ClientID); !ok {
		t.Fatal("b does not know the application a added")
	}
	in, err := a.AddInstance(app.ClientID, "line", "+14255550199")
	must(t, err)
	if owner, found, ok := b.Instance("+14255550199"); !ok || owner.ClientID != app.ClientID || found.ID != in.ID {
		t.Fatalf("b.Instance = %s, %+v, %v", owner.ClientID, found, ok)
	}
}

func testSharedConcurrentChanges(t *testing.T, a, b auth.Registry) {
	const each = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for _, r := range []auth.Registry{a, b} {
		for i := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := r.AddApplication(auth.AppSettings{DisplayName: fmt.Sprintf("app %d", i)})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	refresh(t, a)
	refresh(t, b)
	if na, nb := len(a.Applications()), len(b.Applications()); na != 2*each+1 || nb != na {
		t.Fatalf("a lists %d applications, b %d; want %d each: a change was lost", na, nb, 2*each+1)
	}
}

func testSharedRemoved(t *testing.T, a, b auth.Registry) {
	app, _, err := a.AddApplication(auth.AppSettings{DisplayName: "short-lived"})
	must(t, err)
	if _, ok := b.Registered(app.ClientID); !ok {
		t.Fatal("b does not know the application")
	}
	roles := []string{"Calls.Initiate.All"}
	_, err = b.UpdateApplication(app.ClientID, auth.AppChanges{Roles: &roles})
	must(t, err)
	refresh(t, a)
	if got, _ := a.Registered(app.ClientID); !slices.Equal(got, roles) {
		t.Fatalf("a sees roles %v after b changed them to %v", got, roles)
	}
	_, err = a.RemoveApplication(app.ClientID)
	must(t, err)
	refresh(t, b)
	if _, ok := b.Registered(app.ClientID); ok {
		t.Fatal("b still accepts the application a removed")
	}
}

func testSharedPhoneNumbers(t *testing.T, a, b auth.Registry) {
	one, _, err := a.AddApplication(auth.AppSettings{DisplayName: "one"})
	must(t, err)
	two, _, err := b.AddApplication(auth.AppSettings{DisplayName: "two"})
	must(t, err)
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); _, errA = a.AddInstance(one.ClientID, "a", "+14255550177") }()
	go func() { defer wg.Done(); _, errB = b.AddInstance(two.ClientID, "b", "+14255550177") }()
	wg.Wait()
	if (errA == nil) == (errB == nil) {
		t.Fatalf("adding one phone number on two nodes at once: %v and %v; want exactly one refused", errA, errB)
	}
}
