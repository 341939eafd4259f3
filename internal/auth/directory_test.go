package auth_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/auth/registrytest"
)

func openDirectory(t *testing.T, path string) (*auth.Directory, auth.Opened) {
	t.Helper()
	d, opened, err := auth.LoadOrCreateDirectory(path)
	if err != nil {
		t.Fatal(err)
	}
	return d, opened
}

func TestDirectoryIsARegistry(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) auth.Registry {
		d, _ := openDirectory(t, filepath.Join(t.TempDir(), "directory.json"))
		return d
	})
}

// TestDirectoryPersists: every change is in directory.json at once, the dev
// application first, and secrets other than the dev application's printed
// one are kept only as hashes.
func TestDirectoryPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "directory.json")
	d, opened := openDirectory(t, path)
	if !opened.Created || d.AdminSecret() == "" {
		t.Fatalf("first open: %+v, admin secret %q", opened, d.AdminSecret())
	}
	dev := d.DefaultApplication()
	if len(dev.Instances) != 1 || !auth.ValidPhoneNumber(dev.Instances[0].PhoneNumber) {
		t.Fatalf("the dev application's instances: %+v", dev.Instances)
	}
	app, secret, err := d.AddApplication(auth.AppSettings{DisplayName: "kept", CallingWebhook: "https://bot.example/calls"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), secret.Value) {
		t.Fatal("directory.json holds a new secret's value")
	}
	again, opened := openDirectory(t, path)
	if opened.Created || opened.NewAdminSecret {
		t.Fatalf("reopen: %+v", opened)
	}
	got, ok := again.Application(app.ClientID)
	if !ok || got.CallingWebhook != app.CallingWebhook || got.CheckSecret(secret.Value, time.Now()) != nil {
		t.Fatalf("reloaded %+v, %v", got, ok)
	}
	if again.DefaultApplication().ClientID != dev.ClientID || again.DefaultApplication().Secret != dev.Secret || dev.Secret == "" {
		t.Fatal("the dev application's printed secret was not kept")
	}
	if again.DefaultApplication().CheckSecret(dev.Secret, time.Now()) != nil {
		t.Fatal("the dev application's printed secret does not authenticate")
	}
}

// TestDirectoryWithoutAdminSecret: a hand-written directory.json without an
// admin secret (or with an empty one) gets a generated one, saved, so the
// admin API is never open; an earlier callplane's plain clientSecret keeps
// working.
func TestDirectoryWithoutAdminSecret(t *testing.T) {
	for name, secretField := range map[string]string{"missing": ``, "empty": `"adminSecret": "",`} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "directory.json")
			handWritten := `{"tenantId": "59046c29-0e44-4a5a-9a28-a7e6f1d638e9", ` + secretField + `
				"applications": [{"clientId": "3404a0ce-42f6-42b0-a3a6-7d57a39b0ca5", "displayName": "bot",
				"clientSecret": "hand-written-secret", "roles": ["Calls.Initiate.All"], "objectId": "o"}]}`
			if err := os.WriteFile(path, []byte(handWritten), 0o600); err != nil {
				t.Fatal(err)
			}
			d, opened := openDirectory(t, path)
			if !opened.NewAdminSecret || len(d.AdminSecret()) < 32 {
				t.Fatalf("opened %+v with admin secret %q", opened, d.AdminSecret())
			}
			var saved struct {
				AdminSecret string `json:"adminSecret"`
			}
			raw, _ := os.ReadFile(path)
			if err := json.Unmarshal(raw, &saved); err != nil || saved.AdminSecret != d.AdminSecret() {
				t.Fatalf("the generated admin secret was not saved: %s", raw)
			}
			if d.DefaultApplication().CheckSecret("hand-written-secret", time.Now()) != nil {
				t.Fatal("the hand-written client secret no longer authenticates")
			}
			again, opened := openDirectory(t, path)
			if opened.NewAdminSecret || again.AdminSecret() != d.AdminSecret() {
				t.Fatal("the admin secret changed on the next start")
			}
		})
	}
}
