// Command callplane is a self-hosted Microsoft Graph calls API: calling bots
// place, answer and hang up calls against it and receive its notifications,
// without a cloud tenant. See the README.
package main

import (
	"os"

	"github.com/callplane/callplane/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
