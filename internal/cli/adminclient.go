package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/server"
)

// adminClient talks to a running callplane's admin API, with the address
// and admin credential found in its data directory.
type adminClient struct {
	base   string
	secret string
}

// adminFlags adds --data, --url, --ready-file and --admin-secret to a
// command's flags; connect, called after parsing, returns the client they
// name: the callplane of a ready file (serve --ready-file), or the one
// running on a data directory, or at a URL with a secret.
func adminFlags(fs *flag.FlagSet) (connect func() (*adminClient, error)) {
	data := fs.String("data", server.Defaults().DataDir, "data directory of the running callplane (holds its address and admin credential)")
	base := fs.String("url", "", "base URL of callplane (default: the one that runs on --data)")
	readyFile := fs.String("ready-file", "", "the --ready-file of the running callplane: its URL and admin credential (instead of --data)")
	secret := fs.String("admin-secret", "", "the admin credential, with --url (default: the one in --data)")
	storeURL := fs.String("store", "", "the PostgreSQL URL of a cluster (serve --store): its admin credential, and a live node's URL unless --url names one")
	return func() (*adminClient, error) {
		if *storeURL != "" {
			id, node, err := openCluster(*storeURL)
			if err != nil {
				return nil, err
			}
			u := cmpOr(*base, node)
			if u == "" {
				return nil, errors.New("no node of the cluster is running (start one with callplane serve --store), and no --url names one")
			}
			return &adminClient{base: u, secret: cmpOr(*secret, id.Directory.AdminSecret())}, nil
		}
		if *readyFile != "" {
			r, err := readReady(*readyFile)
			if err != nil {
				return nil, err
			}
			return &adminClient{base: cmpOr(*base, r.BaseURL), secret: cmpOr(*secret, r.AdminSecret)}, nil
		}
		if *base != "" && *secret != "" {
			return &adminClient{base: strings.TrimSuffix(*base, "/"), secret: *secret}, nil
		}
		id, err := server.OpenIdentity(*data)
		if err != nil {
			return nil, err
		}
		u := *base
		if u == "" {
			u = server.RunningURL(*data)
		}
		return &adminClient{base: strings.TrimSuffix(u, "/"), secret: id.Directory.AdminSecret()}, nil
	}
}

// openCluster opens the identity of the cluster on the PostgreSQL database
// at storeURL, with a live node's URL ("" if none runs), giving up after
// as long as an admin request may take.
func openCluster(storeURL string) (*server.Identity, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return server.OpenClusterIdentity(ctx, storeURL)
}

// readReady reads a server's --ready-file.
func readReady(path string) (server.Ready, error) {
	var r server.Ready
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil || r.BaseURL == "" {
		return r, fmt.Errorf("%s is not a callplane ready file (serve --ready-file): %v", path, err)
	}
	return r, nil
}

// cmpOr is a, or b when a is empty, without a trailing slash.
func cmpOr(a, b string) string {
	if a == "" {
		a = b
	}
	return strings.TrimSuffix(a, "/")
}

// do sends a request with a JSON body (none if nil) and returns the response
// body, or an error for any status but 2xx.
func (c *adminClient) do(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("is callplane running at %s? %w", c.base, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

// callAdmin runs an admin subcommand: it parses args (positional arguments
// and flags in either order) into fs, checks that the positional arguments
// are those synopsis names, and sends the request build makes of them to
// the callplane connect names. It returns the answer's body.
func callAdmin(fs *flag.FlagSet, connect func() (*adminClient, error), args []string, name, synopsis string,
	build func(positional []string) (method, path string, body any, err error)) ([]byte, error) {
	positional, flags := splitArgs(args)
	if err := parse(fs, flags); err != nil {
		return nil, err
	}
	if want := len(strings.Fields(synopsis)); len(positional) != want {
		fmt.Fprintf(fs.Output(), "callplane %s needs %s\n", name, synopsis)
		return nil, errUsage
	}
	method, path, body, err := build(positional)
	if err != nil {
		return nil, err
	}
	client, err := connect()
	if err != nil {
		return nil, err
	}
	return client.do(method, path, body)
}

// fixedPath is a request that only fills the positional arguments, escaped,
// into a path.
func fixedPath[Options any](method, format string) func([]string, Options) (string, string, any, error) {
	return func(args []string, _ Options) (string, string, any, error) {
		values := make([]any, len(args))
		for i, a := range args {
			values[i] = url.PathEscape(a)
		}
		return method, fmt.Sprintf(format, values...), nil, nil
	}
}
