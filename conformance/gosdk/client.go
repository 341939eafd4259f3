package gosdk

import (
	"context"
	"net/url"

	"github.com/microsoft/kiota-abstractions-go/authentication"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
)

// README snippet: begin

// NewCallplaneClient returns a Graph client for callplane at graphURL, the
// "Graph base URL" callplane prints (http://127.0.0.1:8080/v1.0), sending token.
func NewCallplaneClient(graphURL, token string) (*msgraph.GraphServiceClient, error) {
	u, err := url.Parse(graphURL)
	if err != nil {
		return nil, err
	}
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(fixedToken{token, u.Hostname()})
	adapter, err := msgraph.NewGraphRequestAdapter(auth)
	if err != nil {
		return nil, err
	}
	adapter.SetBaseUrl(graphURL) // before NewGraphServiceClient, which copies it
	return msgraph.NewGraphServiceClient(adapter), nil
}

// fixedToken is a kiota AccessTokenProvider: one token, sent only to host.
type fixedToken struct{ token, host string }

func (p fixedToken) GetAuthorizationToken(_ context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.GetAllowedHostsValidator().IsUrlHostValid(u) {
		return "", nil
	}
	return p.token, nil
}

func (p fixedToken) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	v := authentication.NewAllowedHostsValidator([]string{p.host})
	return &v
}

// README snippet: end
