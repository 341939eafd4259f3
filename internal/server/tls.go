package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files of the generated certificate authority and server certificate.
const (
	tlsDir       = "tls"
	caCertFile   = "tls/ca.pem"
	caKeyFile    = "tls/ca-key.pem"
	leafCertFile = "tls/server.pem"
	leafKeyFile  = "tls/server-key.pem"
)

// leafLifetime stays under the 398 days clients accept for a server
// certificate.
const leafLifetime = 397 * 24 * time.Hour

// devCertificate returns a server certificate for hosts, signed by a
// certificate authority of the data directory's own, and the path of that
// authority's certificate: the file a client is told to trust
// (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE). Both are generated on first use; the
// server certificate is made again when it nears expiry or lacks a host.
func devCertificate(dataDir string, hosts []string) (tls.Certificate, string, error) {
	if err := os.MkdirAll(filepath.Join(dataDir, tlsDir), 0o700); err != nil {
		return tls.Certificate{}, "", err
	}
	caPath := filepath.Join(dataDir, caCertFile)
	ca, caKey, err := loadOrCreateCA(caPath, filepath.Join(dataDir, caKeyFile))
	if err != nil {
		return tls.Certificate{}, "", err
	}
	leafPath, keyPath := filepath.Join(dataDir, leafCertFile), filepath.Join(dataDir, leafKeyFile)
	if cert, err := tls.LoadX509KeyPair(leafPath, keyPath); err == nil && leafCovers(cert.Leaf, ca, hosts) {
		return cert, caPath, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"callplane"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := writePEM(leafPath, "CERTIFICATE", der, 0o644); err != nil {
		return tls.Certificate{}, "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := tls.LoadX509KeyPair(leafPath, keyPath)
	return cert, caPath, err
}

// leafCovers reports whether a server certificate was issued by ca, names
// every host, and has more than a week to live.
func leafCovers(leaf, ca *x509.Certificate, hosts []string) bool {
	if leaf == nil || leaf.CheckSignatureFrom(ca) != nil || time.Until(leaf.NotAfter) < 7*24*time.Hour {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func loadOrCreateCA(certPath, keyPath string) (*x509.Certificate, any, error) {
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if certErr == nil && keyErr == nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("server: %s: %w", certPath, err)
		}
		return pair.Leaf, pair.PrivateKey, nil
	}
	if !errors.Is(certErr, os.ErrNotExist) && certErr != nil {
		return nil, nil, certErr
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"callplane"}, CommonName: "callplane development CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}

func writePEM(path, kind string, der []byte, perm os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), perm)
}

// tlsHosts are the names the server certificate covers: loopback always,
// and the host of the TLS listen address and of any extra names.
func tlsHosts(listen string, extra []string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	var out []string
	for _, h := range append(hosts, extra...) {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
