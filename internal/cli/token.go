package cli

import (
	"fmt"
	"io"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/server"
)

func runToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "Print one line: an access token for the default application\n(or, with --delegated, a signed-in user's token, which the calls API refuses).", stderr)
	data := fs.String("data", server.Defaults().DataDir, "data directory of the callplane that will accept the token")
	delegated := fs.Bool("delegated", false, "issue a delegated (user) token: scp and a user oid, no roles")
	appID := fs.String("app", "", "client id of the application (default: the dev application)")
	storeURL := fs.String("store", "", "the PostgreSQL URL of the cluster (serve --store) whose nodes will accept the token, instead of --data")
	if err := parse(fs, args); err != nil {
		return err
	}
	var (
		id     *server.Identity
		tokens *auth.TokenService
		err    error
	)
	if *storeURL != "" {
		var node string
		if id, node, err = openCluster(*storeURL); err != nil {
			return err
		}
		tokens = id.TokenServiceAt(cmpOr(node, "http://"+server.DefaultListen))
	} else {
		if id, err = server.OpenIdentity(*data); err != nil {
			return err
		}
		tokens = id.TokenService(*data)
	}
	app := id.Directory.DefaultApplication()
	if *appID != "" {
		var ok bool
		if app, ok = id.Directory.Application(*appID); !ok {
			where := *data
			if *storeURL != "" {
				where = "the cluster"
			}
			return fmt.Errorf("no application %q in %s", *appID, where)
		}
	}
	var token string
	if *delegated {
		token, _, err = tokens.DelegatedToken(app, id.Directory.DefaultUser())
	} else {
		token, _, err = tokens.AppToken(app)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
