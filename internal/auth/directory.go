package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/callplane/callplane/internal/ids"
)

// CallsRoles are the Calls.* application permissions Graph defines; the dev
// application is granted all of them.
var CallsRoles = []string{
	"Calls.AccessMedia.All",
	"Calls.Initiate.All",
	"Calls.InitiateGroupCall.All",
	"Calls.JoinGroupCall.All",
	"Calls.JoinGroupCallAsGuest.All",
}

// Application is an app registration: a client id, its secret, and the
// application permissions (app roles) it was granted.
type Application struct {
	ClientID    string   `json:"clientId"`
	DisplayName string   `json:"displayName"`
	Secret      string   `json:"clientSecret"`
	Roles       []string `json:"roles"`
	// ObjectID is the application's service principal in the tenant: the
	// oid of its tokens.
	ObjectID string `json:"objectId"`
}

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

// Directory is callplane's stand-in for Entra ID: one tenant, its app
// registrations and users, and the admin credential of callplane's own
// management endpoints. It lives in a JSON file in the data directory.
type Directory struct {
	path string
	mu   sync.RWMutex
	f    directoryFile
}

// LoadOrCreateDirectory reads the directory at path, or creates one with a
// dev tenant, a dev application holding every Calls.* permission, and a dev
// user. created reports whether it was created now.
func LoadOrCreateDirectory(path string) (d *Directory, created bool, err error) {
	d = &Directory{path: path}
	raw, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(raw, &d.f); err != nil {
			return nil, false, fmt.Errorf("auth: %s: %w", path, err)
		}
		if d.f.TenantID == "" || len(d.f.Applications) == 0 {
			return nil, false, fmt.Errorf("auth: %s has no tenant or no application", path)
		}
		return d, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	d.f = directoryFile{
		TenantID: ids.New(),
		Applications: []Application{{
			ClientID:    ids.New(),
			DisplayName: "callplane dev bot",
			Secret:      ids.Secret(24),
			Roles:       CallsRoles,
			ObjectID:    ids.New(),
		}},
		Users: []User{{
			ObjectID:          ids.New(),
			UserPrincipalName: "dev@callplane.test",
			DisplayName:       "Dev User",
		}},
		AdminSecret: ids.Secret(24),
	}
	if err := writeJSONAtomic(path, &d.f); err != nil {
		return nil, false, err
	}
	return d, true, nil
}

// TenantID is the directory's one tenant.
func (d *Directory) TenantID() string { return d.f.TenantID }

// AdminSecret is the credential of callplane's admin endpoints.
func (d *Directory) AdminSecret() string { return d.f.AdminSecret }

// DefaultApplication is the application created with the directory.
func (d *Directory) DefaultApplication() Application {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.f.Applications[0]
}

// DefaultUser is the user created with the directory.
func (d *Directory) DefaultUser() User { return d.f.Users[0] }

// Application returns the registration with the client id.
func (d *Directory) Application(clientID string) (Application, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i := slices.IndexFunc(d.f.Applications, func(a Application) bool { return a.ClientID == clientID })
	if i < 0 {
		return Application{}, false
	}
	return d.f.Applications[i], true
}

// Applications lists every registration.
func (d *Directory) Applications() []Application {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.f.Applications)
}

// AddApplication registers a new application with the given permissions and
// saves the directory.
func (d *Directory) AddApplication(displayName string, roles []string) (Application, error) {
	app := Application{
		ClientID:    ids.New(),
		DisplayName: displayName,
		Secret:      ids.Secret(24),
		Roles:       slices.Clone(roles),
		ObjectID:    ids.New(),
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.f
	next.Applications = append(slices.Clone(d.f.Applications), app)
	if err := writeJSONAtomic(d.path, &next); err != nil {
		return Application{}, err
	}
	d.f = next
	return app, nil
}
