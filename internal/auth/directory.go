package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// User is a directory user, the subject of delegated tokens.
type User struct {
	ObjectID          string `json:"objectId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// directoryFile is the on-disk form of a Directory.
type directoryFile struct {
	TenantID     string        `json:"tenantId"`
	Applications []Application `json:"applications"`
	Users        []User        `json:"users"`
	AdminSecret  string        `json:"adminSecret"`
}

// Directory is callplane's stand-in for Entra ID with the embedded store:
// one tenant, its app registrations (a Registry) and users, and the admin
// credential of callplane's own management endpoints. It lives in a JSON
// file in the data directory, the dev application first, and every change
// is written back at once.
type Directory struct {
	// path is the directory's file; docs, for a directory several nodes
	// share, keep it instead, at version.
	path    string
	docs    Documents
	version int64
	// missMu lets one refresh of a shared directory run for lookups that
	// missed; changeMu makes changes take turns.
	missMu, changeMu sync.Mutex
	now              func() time.Time
	// What never changes while running, read without the lock.
	tenantID, adminSecret string
	defaultUser           User

	mu sync.RWMutex
	f  directoryFile
	// byID indexes f.Applications by client id.
	byID map[string]int
}

var _ Registry = (*Directory)(nil)

// Opened says what LoadOrCreateDirectory found.
type Opened struct {
	// Created: there was no directory; a new one was made.
	Created bool
	// NewAdminSecret: the directory had no admin secret; one was generated.
	NewAdminSecret bool
}

// LoadOrCreateDirectory reads the directory at path, or creates one with a
// dev tenant, a dev application holding every Calls.* permission, and a dev
// user. A directory without an admin secret gets one: the admin API is never
// open to requests without a credential.
func LoadOrCreateDirectory(path string) (*Directory, Opened, error) {
	d := &Directory{path: path, now: time.Now}
	var opened Opened
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := d.decode(raw); err != nil {
			return nil, opened, fmt.Errorf("auth: %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		opened.Created = true
		d.f = newDirectoryFile(d.now())
	default:
		return nil, opened, err
	}
	if d.complete(&opened) {
		if err := writeJSONAtomic(path, &d.f); err != nil {
			return nil, opened, err
		}
	}
	return d, opened, nil
}

// decode reads a directory's document.
func (d *Directory) decode(raw []byte) error {
	if err := json.Unmarshal(raw, &d.f); err != nil {
		return err
	}
	if d.f.TenantID == "" || len(d.f.Applications) == 0 {
		return errors.New("no tenant or no application")
	}
	return nil
}

// newDirectoryFile is a new directory: a dev tenant and a dev application
// holding every Calls.* permission, with a secret and a phone number.
func newDirectoryFile(now time.Time) directoryFile {
	f := directoryFile{TenantID: ids.New()}
	dev := newApplication(AppSettings{DisplayName: "callplane dev bot"}, now)
	secret := newSecret("", time.Time{}, now)
	dev.Secret = secret.Value
	dev.Secrets = []SecretCredential{secret.SecretCredential}
	// A phone number from the start, so that PSTN examples work at once:
	// +1 555 01xx is reserved for fiction.
	instance, _ := newInstance("callplane dev bot (phone)", fmt.Sprintf("+1555010%04d", rand.IntN(10000)), now)
	dev.Instances = []Instance{instance}
	f.Applications = []Application{dev}
	return f
}

// complete gives a directory what every directory has (a dev user, an
// admin secret, applications in the current form) and indexes it; it says
// whether the document changed and must be saved.
func (d *Directory) complete(opened *Opened) (changed bool) {
	changed = opened.Created
	if len(d.f.Users) == 0 {
		// The subject of delegated tokens (callplane token --delegated).
		d.f.Users = []User{{ObjectID: ids.New(), UserPrincipalName: "dev@callplane.test", DisplayName: "Dev User"}}
		changed = true
	}
	if d.f.AdminSecret == "" {
		d.f.AdminSecret = ids.Secret(24)
		opened.NewAdminSecret, changed = !opened.Created, true
	}
	for i := range d.f.Applications {
		changed = d.f.Applications[i].upgrade(d.now()) || changed
	}
	d.index()
	d.tenantID, d.adminSecret, d.defaultUser = d.f.TenantID, d.f.AdminSecret, d.f.Users[0]
	return changed
}

func (d *Directory) index() {
	d.byID = make(map[string]int, len(d.f.Applications))
	for i, a := range d.f.Applications {
		d.byID[a.ClientID] = i
	}
}

// TenantID is the directory's one tenant.
func (d *Directory) TenantID() string { return d.tenantID }

// AdminSecret is the credential of callplane's admin endpoints; never empty.
func (d *Directory) AdminSecret() string { return d.adminSecret }

// DefaultApplication is the application created with the directory.
func (d *Directory) DefaultApplication() Application {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.f.Applications[0].clone()
}

// DefaultUser is the user created with the directory.
func (d *Directory) DefaultUser() User { return d.defaultUser }

// Application returns the registration with the client id.
func (d *Directory) Application(clientID string) (Application, bool) {
	if a, ok := d.application(clientID); ok || d.docs == nil {
		return a, ok
	}
	d.refreshOnMiss()
	return d.application(clientID)
}

func (d *Directory) application(clientID string) (Application, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.byID[clientID]
	if !ok {
		return Application{}, false
	}
	return d.f.Applications[i].clone(), true
}

// Registered reports whether the client id is a registered application,
// without copying it: every Graph request asks.
func (d *Directory) Registered(clientID string) ([]string, bool) {
	if roles, ok := d.registered(clientID); ok || d.docs == nil {
		return roles, ok
	}
	d.refreshOnMiss()
	return d.registered(clientID)
}

func (d *Directory) registered(clientID string) ([]string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.byID[clientID]
	if !ok {
		return nil, false
	}
	return d.f.Applications[i].Roles, true
}

// Applications lists every registration, the dev application first.
func (d *Directory) Applications() []Application {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Application, len(d.f.Applications))
	for i, a := range d.f.Applications {
		out[i] = a.clone()
	}
	return out
}

// AddApplication registers an application with a first secret.
func (d *Directory) AddApplication(s AppSettings) (Application, NewSecret, error) {
	if err := s.validate(); err != nil {
		return Application{}, NewSecret{}, err
	}
	app := newApplication(s, d.now())
	secret := newSecret("", time.Time{}, d.now())
	app.Secrets = []SecretCredential{secret.SecretCredential}
	err := d.change(func(f *directoryFile) error {
		if len(f.Applications) >= maxApplications {
			return &InvalidError{Msg: fmt.Sprintf("the tenant holds at most %d applications: remove one first", maxApplications)}
		}
		f.Applications = append(f.Applications, app)
		return nil
	})
	if err != nil {
		return Application{}, NewSecret{}, err
	}
	return app.clone(), secret, nil
}

// UpdateApplication changes what the changes set.
func (d *Directory) UpdateApplication(clientID string, c AppChanges) (Application, error) {
	if err := c.validate(); err != nil {
		return Application{}, err
	}
	var out Application
	err := d.changeApp(clientID, func(a *Application) error {
		c.apply(a)
		out = a.clone()
		return nil
	})
	return out, err
}

// RemoveApplication deletes a registration. The dev application stays: the
// banner, callplane token and loose mode speak for it.
func (d *Directory) RemoveApplication(clientID string) (Application, error) {
	var removed Application
	err := d.change(func(f *directoryFile) error {
		i, ok := d.byID[clientID]
		switch {
		case !ok:
			return ErrNoSuchApplication
		case i == 0:
			return ErrDevApplication
		}
		removed = f.Applications[i].clone()
		f.Applications = slices.Delete(f.Applications, i, i+1)
		return nil
	})
	return removed, err
}

// AddSecret gives the application another client secret, valid until
// expires (never, if zero).
func (d *Directory) AddSecret(clientID, displayName string, expires time.Time) (NewSecret, error) {
	if err := checkLength("displayName", displayName, maxDisplayName); err != nil {
		return NewSecret{}, err
	}
	secret := newSecret(displayName, expires, d.now())
	err := d.changeApp(clientID, func(a *Application) error {
		if len(a.Secrets) >= maxCredentials {
			return &InvalidError{Msg: fmt.Sprintf("an application holds at most %d secrets: remove one first", maxCredentials)}
		}
		a.Secrets = append(a.Secrets, secret.SecretCredential)
		return nil
	})
	return secret, err
}

// RemoveSecret revokes a client secret at once.
func (d *Directory) RemoveSecret(clientID, secretID string) error {
	return d.changeApp(clientID, func(a *Application) error {
		i := slices.IndexFunc(a.Secrets, func(s SecretCredential) bool { return s.ID == secretID })
		if i < 0 {
			return ErrNoSuchCredential
		}
		if a.Secret != "" && a.Secrets[i].matches(a.Secret) {
			a.Secret = "" // the banner's secret is no longer valid
		}
		a.Secrets = slices.Delete(a.Secrets, i, i+1)
		return nil
	})
}

// AddCertificate adds a certificate credential from its PEM encoding: the
// token endpoint then takes client assertions signed with its key.
func (d *Directory) AddCertificate(clientID, displayName string, pemData []byte) (CertificateCredential, error) {
	cert, err := newCertificate(displayName, pemData, d.now())
	if err != nil {
		return CertificateCredential{}, err
	}
	err = d.changeApp(clientID, func(a *Application) error {
		if len(a.Certificates) >= maxCredentials {
			return &InvalidError{Msg: fmt.Sprintf("an application holds at most %d certificates: remove one first", maxCredentials)}
		}
		if slices.ContainsFunc(a.Certificates, func(c CertificateCredential) bool { return c.Thumbprint == cert.Thumbprint }) {
			return &InvalidError{Msg: "the application already has this certificate"}
		}
		a.Certificates = append(a.Certificates, cert)
		return nil
	})
	return cert, err
}

// RemoveCertificate revokes a certificate credential at once.
func (d *Directory) RemoveCertificate(clientID, certificateID string) error {
	return d.changeApp(clientID, func(a *Application) error {
		i := slices.IndexFunc(a.Certificates, func(c CertificateCredential) bool { return c.ID == certificateID })
		if i < 0 {
			return ErrNoSuchCredential
		}
		a.Certificates = slices.Delete(a.Certificates, i, i+1)
		return nil
	})
}

// AddInstance gives the application an instance with a phone number no
// other instance has.
func (d *Directory) AddInstance(clientID, displayName, phoneNumber string) (Instance, error) {
	instance, err := newInstance(displayName, phoneNumber, d.now())
	if err != nil {
		return Instance{}, err
	}
	err = d.change(func(f *directoryFile) error {
		for _, a := range f.Applications {
			for _, in := range a.Instances {
				if in.PhoneNumber == phoneNumber {
					return &InvalidError{Msg: fmt.Sprintf("phone number %s belongs to another instance already", phoneNumber)}
				}
			}
		}
		i, ok := d.byID[clientID]
		if !ok {
			return ErrNoSuchApplication
		}
		a := f.Applications[i].clone()
		if len(a.Instances) >= maxCredentials {
			return &InvalidError{Msg: fmt.Sprintf("an application holds at most %d instances", maxCredentials)}
		}
		a.Instances = append(a.Instances, instance)
		f.Applications[i] = a
		return nil
	})
	return instance, err
}

// RemoveInstance deletes an application instance.
func (d *Directory) RemoveInstance(clientID, instanceID string) error {
	return d.changeApp(clientID, func(a *Application) error {
		i := slices.IndexFunc(a.Instances, func(in Instance) bool { return in.ID == instanceID })
		if i < 0 {
			return ErrNoSuchCredential
		}
		a.Instances = slices.Delete(a.Instances, i, i+1)
		return nil
	})
}

// Instance finds an application instance by id or phone number.
func (d *Directory) Instance(idOrPhone string) (Application, Instance, bool) {
	if a, in, ok := d.instance(idOrPhone); ok || d.docs == nil {
		return a, in, ok
	}
	d.refreshOnMiss()
	return d.instance(idOrPhone)
}

func (d *Directory) instance(idOrPhone string) (Application, Instance, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, a := range d.f.Applications {
		for _, in := range a.Instances {
			if in.ID == idOrPhone || in.PhoneNumber == idOrPhone {
				return a.clone(), in, true
			}
		}
	}
	return Application{}, Instance{}, false
}

// changeApp applies fn to a copy of one application and saves the result.
func (d *Directory) changeApp(clientID string, fn func(*Application) error) error {
	return d.change(func(f *directoryFile) error {
		i, ok := d.byID[clientID]
		if !ok {
			return ErrNoSuchApplication
		}
		a := f.Applications[i].clone()
		if err := fn(&a); err != nil {
			return err
		}
		f.Applications[i] = a
		return nil
	})
}

// change applies fn to a copy of the directory, saves the copy (to the
// file, or to the shared documents) and only then makes it current: what is
// served is always what is saved. In a shared directory that another node
// changed meanwhile, fn is applied again to the fresh directory. Changes
// take turns on changeMu; mu is held only to read and to swap, so that
// lookups, and refreshes from other nodes' changes, go on during a save.
func (d *Directory) change(fn func(*directoryFile) error) error {
	d.changeMu.Lock()
	defer d.changeMu.Unlock()
	for {
		d.mu.RLock()
		next := d.f
		next.Applications = slices.Clone(d.f.Applications)
		version := d.version
		err := fn(&next) // fn may read byID, which matches d.f
		d.mu.RUnlock()
		if err != nil {
			return err
		}
		if d.docs != nil {
			err := d.saveShared(&next, version)
			if errors.Is(err, ErrStaleDocument) {
				continue
			}
			if err != nil {
				return err
			}
			version++
		} else if err := writeJSONAtomic(d.path, &next); err != nil {
			return fmt.Errorf("auth: save %s: %w", d.path, err)
		}
		d.mu.Lock()
		if d.docs == nil || d.version < version {
			// (A refresh may have read this version, or a later one of
			// another node's, meanwhile.)
			d.f, d.version = next, version
			d.index()
		}
		d.mu.Unlock()
		return nil
	}
}
