package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Documents keeps what several callplane nodes share about identity (the
// directory, the signing keys) as named documents with versions: a writer
// replaces a document only if it still holds the stored version, so two
// nodes changing the directory at once cannot lose each other's change.
type Documents interface {
	// LoadDocument returns the document and its version, or
	// ErrNoDocument.
	LoadDocument(ctx context.Context, name string) (doc []byte, version int64, err error)
	// SaveDocument stores doc as the document's next version, if its
	// version is still version (0: the document must not exist yet); if
	// not, it says ErrStaleDocument and stores nothing.
	SaveDocument(ctx context.Context, name string, doc []byte, version int64) error
}

var (
	ErrNoDocument    = errors.New("auth: no such document")
	ErrStaleDocument = errors.New("auth: the document changed meanwhile")
)

// Names of the shared documents.
const (
	DirectoryDocument   = "directory"
	GraphKeyDocument    = "graph-token-signing-key"
	CallbackKeyDocument = "callback-signing-key"
)

// sharedTimeout bounds each trip to the shared documents.
const sharedTimeout = 10 * time.Second

// OpenSharedDirectory opens the directory kept in docs, creating it (with
// its dev tenant, application and user, and an admin secret) if no node has
// yet. Every change is saved there first and served only once saved; other
// nodes' changes are seen on Refresh, and at once when a lookup misses.
func OpenSharedDirectory(ctx context.Context, docs Documents) (*Directory, Opened, error) {
	d := &Directory{docs: docs, now: time.Now}
	for {
		raw, version, err := docs.LoadDocument(ctx, DirectoryDocument)
		var opened Opened
		switch {
		case err == nil:
			if err := d.decode(raw); err != nil {
				return nil, opened, fmt.Errorf("auth: the shared directory: %w", err)
			}
		case errors.Is(err, ErrNoDocument):
			opened.Created = true
			d.f = newDirectoryFile(d.now())
		default:
			return nil, opened, err
		}
		if d.complete(&opened) {
			doc, err := json.Marshal(&d.f)
			if err != nil {
				return nil, opened, err
			}
			err = docs.SaveDocument(ctx, DirectoryDocument, doc, version)
			if errors.Is(err, ErrStaleDocument) {
				continue // another node created or completed it first
			}
			if err != nil {
				return nil, opened, err
			}
			version++
		}
		d.version = version
		return d, opened, nil
	}
}

// Refresh reads the shared directory again if another node changed it. A
// directory in a file is always current.
func (d *Directory) Refresh(ctx context.Context) error {
	if d.docs == nil {
		return nil
	}
	// Read without the lock: lookups go on meanwhile.
	raw, version, err := d.docs.LoadDocument(ctx, DirectoryDocument)
	if err != nil {
		return err
	}
	var f directoryFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("auth: the shared directory: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if version > d.version {
		d.f, d.version = f, version
		d.index()
	}
	return nil
}

// refreshOnMiss is for a lookup that found nothing in a shared directory:
// the application may have been added on another node a moment ago. Only
// one refresh runs at a time; lookups that missed meanwhile share it.
func (d *Directory) refreshOnMiss() {
	if d.docs == nil {
		return
	}
	d.mu.RLock()
	seen := d.version
	d.mu.RUnlock()
	d.missMu.Lock()
	defer d.missMu.Unlock()
	d.mu.RLock()
	current := d.version
	d.mu.RUnlock()
	if current != seen {
		return // refreshed while this lookup waited
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	d.Refresh(ctx)
}

// saveShared saves next as the shared directory's version after version;
// when another node changed it first, it refreshes and says
// ErrStaleDocument, for the change to be applied again on the fresh
// directory.
func (d *Directory) saveShared(next *directoryFile, version int64) error {
	doc, err := json.Marshal(next)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	err = d.docs.SaveDocument(ctx, DirectoryDocument, doc, version)
	if errors.Is(err, ErrStaleDocument) {
		if err := d.Refresh(ctx); err != nil {
			return err
		}
		return ErrStaleDocument
	}
	if err != nil {
		return fmt.Errorf("auth: save the shared directory: %w", err)
	}
	return nil
}

// LoadOrCreateSharedKey returns the signing key kept in docs under name,
// generating it if no node has yet: every node signs with the same key.
func LoadOrCreateSharedKey(ctx context.Context, docs Documents, name string) (*Key, error) {
	for {
		raw, _, err := docs.LoadDocument(ctx, name)
		switch {
		case err == nil:
			return parseKey(raw, name)
		case !errors.Is(err, ErrNoDocument):
			return nil, err
		}
		priv, pemData, err := newKeyPEM()
		if err != nil {
			return nil, err
		}
		err = docs.SaveDocument(ctx, name, pemData, 0)
		switch {
		case err == nil:
			return newKey(priv), nil
		case !errors.Is(err, ErrStaleDocument):
			return nil, err
		}
		// Another node made one first: use theirs.
	}
}

// parseKey reads a PEM-encoded PKCS #8 RSA key; source names it in errors.
func parseKey(raw []byte, source string) (*Key, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("auth: %s holds no PEM block", source)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", source, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: %s is not an RSA key", source)
	}
	return newKey(priv), nil
}

// newKeyPEM generates a signing key, and its PEM encoding (PKCS #8) as
// callplane keeps it.
func newKeyPEM() (*rsa.PrivateKey, []byte, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
