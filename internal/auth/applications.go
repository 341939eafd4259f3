package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callplane/callplane/internal/ids"
)

// CallsRoles are the Calls.* application permissions Graph defines; an
// application registered without roles is granted all of them, as the dev
// application is.
var CallsRoles = []string{
	"Calls.AccessMedia.All",
	"Calls.Initiate.All",
	"Calls.InitiateGroupCall.All",
	"Calls.JoinGroupCall.All",
	"Calls.JoinGroupCallAsGuest.All",
}

// Registry is the tenant's app registrations: what the token endpoint
// authenticates clients against, and what every token's application must
// still be when the token is used. Changes take effect at once. The
// embedded engine is the Directory (a JSON file); another engine can hold it
// for several nodes; registrytest is the suite every engine passes.
type Registry interface {
	TenantID() string
	// Application returns the registration with the client id.
	Application(clientID string) (Application, bool)
	// Registered returns the roles of a registered application, cheaply:
	// it is asked on every Graph request.
	Registered(clientID string) (roles []string, ok bool)
	// Applications lists every registration, the dev application first.
	Applications() []Application
	// AddApplication registers an application with a first client secret.
	AddApplication(AppSettings) (Application, NewSecret, error)
	// UpdateApplication changes what the changes set.
	UpdateApplication(clientID string, c AppChanges) (Application, error)
	// RemoveApplication deletes a registration: its tokens are refused from
	// then on. The dev application cannot be removed (ErrDevApplication).
	RemoveApplication(clientID string) (Application, error)
	// AddSecret adds a client secret, valid until expires (zero: never).
	AddSecret(clientID, displayName string, expires time.Time) (NewSecret, error)
	// RemoveSecret revokes a client secret.
	RemoveSecret(clientID, secretID string) error
	// AddCertificate adds a certificate credential (PEM, one certificate).
	AddCertificate(clientID, displayName string, pemData []byte) (CertificateCredential, error)
	// RemoveCertificate revokes a certificate credential.
	RemoveCertificate(clientID, certificateID string) error
	// AddInstance gives the application an application instance (the
	// identity a bot has on the phone network), with a phone number that
	// no other instance has.
	AddInstance(clientID, displayName, phoneNumber string) (Instance, error)
	// RemoveInstance deletes an application instance.
	RemoveInstance(clientID, instanceID string) error
	// Instance finds an application instance by its id or its phone number,
	// with the application it belongs to.
	Instance(idOrPhone string) (Application, Instance, bool)
}

// Registry errors.
var (
	ErrNoSuchApplication = errors.New("no application has this client id")
	ErrNoSuchCredential  = errors.New("the application has no credential with this id")
	ErrDevApplication    = errors.New("the dev application cannot be removed: the banner, callplane token and loose mode act as it")
)

// InvalidError is a registration request the registry refuses on its merits.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// Bounds on what one registration holds.
const (
	maxDisplayName = 256
	maxWebhook     = 2048
	maxCredentials = 16
	// maxApplications bounds a tenant's registrations: the registry is
	// read whole into memory and listed whole.
	maxApplications = 1000
)

// Application is an app registration: a client id, its credentials, the
// application permissions (app roles) it was granted, and the webhook its
// incoming calls are announced to.
type Application struct {
	ClientID    string   `json:"clientId"`
	DisplayName string   `json:"displayName"`
	Roles       []string `json:"roles"`
	// ObjectID is the application's service principal in the tenant: the
	// oid of its tokens.
	ObjectID string `json:"objectId"`
	// CallingWebhook is where the service announces calls to the
	// application ("Webhook (for calling)" of an Azure Bot's Teams channel).
	CallingWebhook string `json:"callingWebhook,omitempty"`
	// Secret is the dev application's first secret, kept readable so that
	// the banner can print it on every start; it is also one of Secrets.
	// Other secrets are shown once, when they are made, and only their
	// hashes are kept.
	Secret       string                  `json:"clientSecret,omitempty"`
	Secrets      []SecretCredential      `json:"secrets,omitempty"`
	Certificates []CertificateCredential `json:"certificates,omitempty"`
	// Instances are its application instances: how it is reached from,
	// and calls, the phone network.
	Instances []Instance `json:"instances,omitempty"`
	CreatedAt time.Time  `json:"createdDateTime,omitzero"`
}

// Instance is an application instance: an identity of the application's
// in the tenant, with a phone number. Bots place calls to phones from one
// (source.identity.applicationInstance), and callers dialling its number
// reach the application.
type Instance struct {
	// ID is the instance's object id.
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName,omitempty"`
	PhoneNumber string    `json:"phoneNumber"`
	CreatedAt   time.Time `json:"createdDateTime"`
}

// ValidPhoneNumber reports whether s is an E.164 number: + and 8 to 15
// digits.
func ValidPhoneNumber(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func newInstance(displayName, phone string, now time.Time) (Instance, error) {
	if err := checkLength("displayName", displayName, maxDisplayName); err != nil {
		return Instance{}, err
	}
	if !ValidPhoneNumber(phone) {
		return Instance{}, &InvalidError{Msg: fmt.Sprintf("phoneNumber %q is not an E.164 number (+ and 8 to 15 digits)", phone)}
	}
	return Instance{ID: ids.New(), DisplayName: displayName, PhoneNumber: phone, CreatedAt: now.UTC()}, nil
}

func (a Application) clone() Application {
	a.Roles = slices.Clone(a.Roles)
	a.Secrets = slices.Clone(a.Secrets)
	a.Certificates = slices.Clone(a.Certificates)
	a.Instances = slices.Clone(a.Instances)
	return a
}

func newApplication(s AppSettings, now time.Time) Application {
	roles := s.Roles
	if roles == nil {
		roles = CallsRoles
	}
	return Application{
		ClientID:       ids.New(),
		DisplayName:    s.DisplayName,
		Roles:          slices.Clone(roles),
		ObjectID:       ids.New(),
		CallingWebhook: s.CallingWebhook,
		CreatedAt:      now.UTC(),
	}
}

// upgrade brings a registration written by an earlier callplane to this
// one's form: its one plain clientSecret becomes a secret credential too. It
// reports whether anything changed.
func (a *Application) upgrade(now time.Time) bool {
	if a.Secret == "" || slices.ContainsFunc(a.Secrets, func(s SecretCredential) bool { return s.matches(a.Secret) }) {
		return false
	}
	c := newSecret("", time.Time{}, now)
	c.Hint, c.Hash = hint(a.Secret), hashSecret(a.Secret)
	a.Secrets = append(a.Secrets, c.SecretCredential)
	return true
}

// AppSettings describe a new registration. Nil Roles grants every Calls.*
// role.
type AppSettings struct {
	DisplayName    string
	Roles          []string
	CallingWebhook string
}

func (s AppSettings) validate() error {
	return AppChanges{DisplayName: &s.DisplayName, Roles: rolesOrNil(s.Roles), CallingWebhook: &s.CallingWebhook}.validate()
}

func rolesOrNil(r []string) *[]string {
	if r == nil {
		return nil
	}
	return &r
}

// AppChanges are the settings an update changes; nil fields stay as they
// are.
type AppChanges struct {
	DisplayName    *string
	Roles          *[]string
	CallingWebhook *string
}

func (c AppChanges) validate() error {
	if c.DisplayName != nil {
		if err := checkLength("displayName", *c.DisplayName, maxDisplayName); err != nil {
			return err
		}
	}
	if c.Roles != nil {
		for _, r := range *c.Roles {
			if !slices.Contains(CallsRoles, r) {
				return &InvalidError{Msg: fmt.Sprintf("roles: %q is not an application permission of the calls API (%s)", r, strings.Join(CallsRoles, ", "))}
			}
		}
	}
	if c.CallingWebhook != nil {
		if err := checkLength("callingWebhook", *c.CallingWebhook, maxWebhook); err != nil {
			return err
		}
	}
	return nil
}

func (c AppChanges) apply(a *Application) {
	if c.DisplayName != nil {
		a.DisplayName = *c.DisplayName
	}
	if c.Roles != nil {
		a.Roles = slices.Compact(slices.Sorted(slices.Values(*c.Roles)))
	}
	if c.CallingWebhook != nil {
		a.CallingWebhook = *c.CallingWebhook
	}
}

func checkLength(field, value string, max int) error {
	if utf8.RuneCountInString(value) > max {
		return &InvalidError{Msg: fmt.Sprintf("%s is limited to %d characters", field, max)}
	}
	return nil
}

// SecretCredential is a client secret as the registry keeps it: its hash,
// never the secret.
type SecretCredential struct {
	ID          string `json:"secretId"`
	DisplayName string `json:"displayName,omitempty"`
	// Hint is the secret's first characters, as Entra shows them.
	Hint string `json:"hint"`
	// Hash is the SHA-256 of the secret, hex. Secrets are long random
	// strings, so a plain hash is as good as a slow one.
	Hash      string    `json:"sha256"`
	CreatedAt time.Time `json:"createdDateTime"`
	ExpiresAt time.Time `json:"endDateTime,omitzero"`
}

// NewSecret is a secret just made: its value is shown this once.
type NewSecret struct {
	SecretCredential
	Value string
}

func newSecret(displayName string, expires, now time.Time) NewSecret {
	value := ids.Secret(24)
	return NewSecret{
		SecretCredential: SecretCredential{
			ID:          ids.New(),
			DisplayName: displayName,
			Hint:        hint(value),
			Hash:        hashSecret(value),
			CreatedAt:   now.UTC(),
			ExpiresAt:   expires.UTC(),
		},
		Value: value,
	}
}

func hint(secret string) string { return secret[:min(3, len(secret))] }

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (s SecretCredential) matches(secret string) bool {
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(s.Hash)) == 1
}

// Expired reports whether the secret has passed its end date.
func (s SecretCredential) Expired(now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

// ErrSecretExpired is a secret that matched but has expired.
var ErrSecretExpired = errors.New("client secret expired")

// CheckSecret reports whether secret is one of the application's valid
// secrets.
func (a Application) CheckSecret(secret string, now time.Time) error {
	for _, s := range a.Secrets {
		if s.matches(secret) {
			if s.Expired(now) {
				return ErrSecretExpired
			}
			return nil
		}
	}
	return errors.New("no such secret")
}

// CertificateCredential is a certificate an application authenticates
// with: the token endpoint takes client assertions signed with its key.
type CertificateCredential struct {
	ID          string `json:"certificateId"`
	DisplayName string `json:"displayName,omitempty"`
	// Thumbprint is the SHA-1 of the certificate (hex, as Entra shows it),
	// what an assertion's x5t header names; ThumbprintSHA256 is what x5t#S256
	// names.
	Thumbprint       string    `json:"thumbprint"`
	ThumbprintSHA256 string    `json:"thumbprintSha256"`
	Subject          string    `json:"subject"`
	NotBefore        time.Time `json:"startDateTime"`
	NotAfter         time.Time `json:"endDateTime"`
	PEM              string    `json:"pem"`
	CreatedAt        time.Time `json:"createdDateTime"`
}

// maxCertificatePEM bounds an uploaded certificate.
const maxCertificatePEM = 64 << 10

func newCertificate(displayName string, pemData []byte, now time.Time) (CertificateCredential, error) {
	if err := checkLength("displayName", displayName, maxDisplayName); err != nil {
		return CertificateCredential{}, err
	}
	if len(pemData) > maxCertificatePEM {
		return CertificateCredential{}, &InvalidError{Msg: "the certificate is too large"}
	}
	cert, err := parseCertificatePEM(pemData)
	if err != nil {
		return CertificateCredential{}, err
	}
	if _, ok := publicKeyOf(cert); !ok {
		return CertificateCredential{}, &InvalidError{Msg: "the certificate's key is not RSA: client assertions are signed with RS256 or PS256"}
	}
	sha1Sum := sha1.Sum(cert.Raw)
	sha256Sum := sha256.Sum256(cert.Raw)
	return CertificateCredential{
		ID:               ids.New(),
		DisplayName:      displayName,
		Thumbprint:       strings.ToUpper(hex.EncodeToString(sha1Sum[:])),
		ThumbprintSHA256: strings.ToUpper(hex.EncodeToString(sha256Sum[:])),
		Subject:          cert.Subject.String(),
		NotBefore:        cert.NotBefore.UTC(),
		NotAfter:         cert.NotAfter.UTC(),
		PEM:              string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		CreatedAt:        now.UTC(),
	}, nil
}

// parseCertificatePEM reads the one certificate of a PEM text; a private
// key in it is refused, so that it is not stored by mistake.
func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	var cert *x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, &InvalidError{Msg: "the PEM holds a private key: upload the certificate only, and keep its key with the application"}
		case block.Type == "CERTIFICATE" && cert == nil:
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, &InvalidError{Msg: "the certificate does not parse: " + err.Error()}
			}
			cert = c
		}
	}
	if cert == nil {
		return nil, &InvalidError{Msg: "no PEM CERTIFICATE block found"}
	}
	return cert, nil
}

// certificate parses the stored certificate.
func (c CertificateCredential) certificate() (*x509.Certificate, error) {
	return parseCertificatePEM([]byte(c.PEM))
}
