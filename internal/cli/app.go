package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/callplane/callplane/internal/admin"
)

// appCommands manage the tenant's app registrations on a running callplane,
// through the admin API.
var appCommands = []struct {
	verb, args, summary string
	run                 func(args []string, o appOptions) (method, path string, body any, err error)
}{
	{"add", "", "register an application; prints its client id and first secret (shown once)", appAdd},
	{"list", "", "list the registrations", fixedPath[appOptions](http.MethodGet, "/callplane/applications")},
	{"show", "APP", "show a registration: roles, webhook, secrets and certificates", fixedPath[appOptions](http.MethodGet, "/callplane/applications/%s")},
	{"set", "APP", "change a registration's --name, --role (repeatable; --role none for none) or --webhook", appSet},
	{"remove", "APP", "remove a registration: its tokens are refused, its live calls end", fixedPath[appOptions](http.MethodDelete, "/callplane/applications/%s")},
	{"secret", "APP", "add a client secret (shown once); --remove SECRET_ID revokes one", appSecret},
	{"certificate", "APP", "add a certificate credential from --file PEM; --remove CERT_ID revokes one", appCertificate},
}

type appOptions struct {
	name, webhook, file, remove *string
	roles                       *stringList
	expires                     *time.Duration
}

func appUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: callplane app <verb> [args] [flags]\n\nManage the app registrations of a running callplane; changes take effect at once.\n\n")
	for _, c := range appCommands {
		fmt.Fprintf(w, "  %-12s %-5s %s\n", c.verb, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nFlags: --data DIR, --url URL (which callplane); --name, --role, --webhook (add, set);\n--expires DURATION (secret); --file PEM (certificate); --remove ID (secret, certificate); --json.\n")
}

func runApp(args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		appUsage(stderr)
		return errUsage
	}
	for _, c := range appCommands {
		if c.verb != args[0] {
			continue
		}
		fs := newFlagSet("app "+c.verb, c.summary, stderr)
		connect := adminFlags(fs)
		o := appOptions{
			name:    fs.String("name", "", "the application's display name"),
			webhook: fs.String("webhook", "", "the application's calling webhook URL (incoming calls are announced there)"),
			file:    fs.String("file", "", "certificate: the PEM file of the certificate"),
			remove:  fs.String("remove", "", "secret, certificate: the id of the credential to revoke"),
			roles:   &stringList{},
			expires: fs.Duration("expires", 0, "secret: valid for this long (default: no end date)"),
		}
		fs.Var(o.roles, "role", "an application permission (Calls.Initiate.All, …); repeatable; default every Calls.* role")
		fs.StringVar(o.webhook, "calling-webhook", "", "the same as --webhook, as serve names it")
		asJSON := fs.Bool("json", false, "list: print the admin API's JSON")
		out, err := callAdmin(fs, connect, args[1:], "app "+c.verb, c.args, func(p []string) (string, string, any, error) { return c.run(p, o) })
		if err != nil {
			return err
		}
		if c.verb == "list" && !*asJSON {
			return printApplications(stdout, out)
		}
		if len(out) > 0 {
			var pretty bytes.Buffer
			if json.Indent(&pretty, out, "", "  ") == nil {
				out = pretty.Bytes()
			}
			_, err = fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(out))
		}
		return err
	}
	appUsage(stderr)
	return errUsage
}

// request is the application settings the flags set.
func (o appOptions) request(all bool) admin.ApplicationRequest {
	var req admin.ApplicationRequest
	if *o.name != "" || all {
		req.DisplayName = o.name
	}
	if *o.webhook != "" {
		req.CallingWebhook = o.webhook
	}
	if len(*o.roles) > 0 {
		roles := []string{}
		for _, r := range *o.roles {
			if r != "none" {
				roles = append(roles, r)
			}
		}
		req.Roles = &roles
	}
	return req
}

func appAdd(_ []string, o appOptions) (string, string, any, error) {
	return http.MethodPost, "/callplane/applications", o.request(true), nil
}

func appSet(args []string, o appOptions) (string, string, any, error) {
	req := o.request(false)
	if req.DisplayName == nil && req.Roles == nil && req.CallingWebhook == nil {
		return "", "", nil, fmt.Errorf("app set needs --name, --role or --webhook")
	}
	return http.MethodPatch, "/callplane/applications/" + url.PathEscape(args[0]), req, nil
}

func appSecret(args []string, o appOptions) (string, string, any, error) {
	path := "/callplane/applications/" + url.PathEscape(args[0]) + "/secrets"
	if *o.remove != "" {
		return http.MethodDelete, path + "/" + url.PathEscape(*o.remove), nil, nil
	}
	req := admin.SecretRequest{DisplayName: *o.name}
	if *o.expires > 0 {
		req.ExpiresAt = time.Now().Add(*o.expires).UTC()
	}
	return http.MethodPost, path, req, nil
}

func appCertificate(args []string, o appOptions) (string, string, any, error) {
	path := "/callplane/applications/" + url.PathEscape(args[0]) + "/certificates"
	if *o.remove != "" {
		return http.MethodDelete, path + "/" + url.PathEscape(*o.remove), nil, nil
	}
	if *o.file == "" {
		return "", "", nil, fmt.Errorf("app certificate needs --file PEM (or --remove CERT_ID)")
	}
	pem, err := os.ReadFile(*o.file)
	if err != nil {
		return "", "", nil, err
	}
	return http.MethodPost, path, admin.CertificateRequest{Certificate: string(pem), DisplayName: *o.name}, nil
}

func printApplications(w io.Writer, body []byte) error {
	var list admin.ApplicationList
	if err := json.Unmarshal(body, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tROLES\tSECRETS\tCERTIFICATES\tCALLING WEBHOOK")
	for _, a := range list.Value {
		name := a.DisplayName
		if a.DevApplication {
			name += " (dev)"
		}
		webhook := a.CallingWebhook
		if webhook == "" {
			webhook = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", a.ID, name, len(a.Roles), len(a.Secrets), len(a.Certificates), webhook)
	}
	return tw.Flush()
}
