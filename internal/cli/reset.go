package cli

import (
	"io"
	"net/http"
)

func runReset(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reset", "End and forget every call, meeting, person, fault, delivery and recording of a running callplane (no notification is sent); the tenant, applications and keys stay.", stderr)
	connect := adminFlags(fs)
	_, err := callAdmin(fs, connect, args, "reset", "", func([]string) (string, string, any, error) {
		return http.MethodPost, "/callplane/reset", nil, nil
	})
	return err
}
