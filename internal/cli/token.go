package cli

import (
	"fmt"
	"io"

	"github.com/callplane/callplane/internal/server"
)

func runToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "Print one line: an access token for the default application\n(or, with --delegated, a signed-in user's token, which the calls API refuses).", stderr)
	data := fs.String("data", server.Defaults().DataDir, "data directory of the callplane that will accept the token")
	delegated := fs.Bool("delegated", false, "issue a delegated (user) token: scp and a user oid, no roles")
	appID := fs.String("app", "", "client id of the application (default: the dev application)")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := server.OpenIdentity(*data)
	if err != nil {
		return err
	}
	app := id.Directory.DefaultApplication()
	if *appID != "" {
		var ok bool
		if app, ok = id.Directory.Application(*appID); !ok {
			return fmt.Errorf("no application %q in %s", *appID, *data)
		}
	}
	tokens := id.TokenService(*data)
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
