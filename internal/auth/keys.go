package auth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
)

// Key is an RSA signing key with its key id, the RFC 7638 thumbprint of its
// public half, so the id changes exactly when the key does.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// LoadOrCreateKey reads the PEM-encoded key at path, or generates a 2048-bit
// key and writes it there (mode 0600) if the file does not exist.
func LoadOrCreateKey(path string) (*Key, error) {
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		return parseKey(raw, path)
	case errors.Is(err, os.ErrNotExist):
		priv, pemData, err := newKeyPEM()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, pemData, 0o600); err != nil {
			return nil, err
		}
		return newKey(priv), nil
	default:
		return nil, err
	}
}

func newKey(priv *rsa.PrivateKey) *Key {
	return &Key{ID: thumbprint(&priv.PublicKey), Private: priv}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// thumbprint is the RFC 7638 JWK thumbprint of an RSA public key.
func thumbprint(pub *rsa.PublicKey) string {
	e := big.NewInt(int64(pub.E)).Bytes()
	canonical := fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64(e), b64(pub.N.Bytes()))
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:])
}

// Public returns the key's public half.
func (k *Key) Public() crypto.PublicKey { return &k.Private.PublicKey }

// JWK is one JSON Web Key, as OpenID providers publish them.
type JWK struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Alg string   `json:"alg"`
	Kid string   `json:"kid"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5t string   `json:"x5t,omitempty"`
	X5c []string `json:"x5c,omitempty"`
}

// JWKSet is a published key set.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// JWK returns the key's public half as a signing JWK.
func (k *Key) JWK() JWK {
	pub := &k.Private.PublicKey
	return JWK{
		Kty: "RSA",
		Use: "sig",
		Alg: "RS256",
		Kid: k.ID,
		N:   b64(pub.N.Bytes()),
		E:   b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}
