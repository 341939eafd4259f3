package gosdk

import (
	"crypto"
	"crypto/x509"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// README snippet: begin

// NewCallplaneCredential is azidentity's client-secret credential with
// callplane as its authority: authorityURL is callplane's HTTPS base URL
// ("HTTPS base URL" in the banner, without /v1.0), which azidentity takes
// as a private cloud's authority host. client must trust callplane's CA;
// nil means the system's roots (on Linux, SSL_CERT_FILE can name the CA).
func NewCallplaneCredential(authorityURL, tenantID, clientID, secret string, client *http.Client) (*azidentity.ClientSecretCredential, error) {
	return azidentity.NewClientSecretCredential(tenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: callplaneOptions(authorityURL, client),
		// Otherwise MSAL asks login.microsoftonline.com about the authority.
		DisableInstanceDiscovery: true,
	})
}

// NewCallplaneCertificateCredential is the same with a certificate
// credential (callplane app certificate APP --file cert.pem registers the
// certificate): MSAL signs a client assertion with key.
func NewCallplaneCertificateCredential(authorityURL, tenantID, clientID string, certs []*x509.Certificate, key crypto.PrivateKey, client *http.Client) (*azidentity.ClientCertificateCredential, error) {
	return azidentity.NewClientCertificateCredential(tenantID, clientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:            callplaneOptions(authorityURL, client),
		DisableInstanceDiscovery: true,
	})
}

func callplaneOptions(authorityURL string, client *http.Client) azcore.ClientOptions {
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authorityURL + "/"}}
	if client != nil {
		opts.Transport = client
	}
	return opts
}

// README snippet: end
