// Command ivrbot runs the reference IVR bot (package ivr) against Graph or
// callplane. Against a local callplane started with --ready-file, it needs
// only that file:
//
//	go run ./cmd/callplane serve --ready-file ready.json
//	go run ./examples/ivrbot --ready-file ready.json
//
// Its calling webhook is then http://127.0.0.1:9100/api/calling, which the
// example scenarios set.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/callplane/callplane/examples/ivrbot/ivr"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ivrbot:", err)
		os.Exit(1)
	}
}

func run() error {
	readyFile := flag.String("ready-file", "", "a callplane --ready-file: its Graph URL, token endpoint and the dev application's credentials")
	listen := flag.String("listen", "127.0.0.1:9100", "address the bot listens on")
	public := flag.String("public-url", "", "the bot's base URL as Graph reaches it (default: http://LISTEN)")
	cfg := ivr.Config{}
	flag.StringVar(&cfg.GraphURL, "graph-url", "", "Graph base URL")
	flag.StringVar(&cfg.TokenEndpoint, "token-endpoint", "", "OAuth2 token endpoint")
	flag.StringVar(&cfg.ClientID, "client-id", "", "the bot's application (client) id")
	flag.StringVar(&cfg.ClientSecret, "client-secret", os.Getenv("IVRBOT_CLIENT_SECRET"), "the bot's client secret (or IVRBOT_CLIENT_SECRET)")
	flag.StringVar(&cfg.Menu, "menu", "", "the menu prompt's URL (default: callplane's sample menu.wav)")
	flag.StringVar(&cfg.Goodbye, "goodbye", "", "the goodbye prompt's URL (default: callplane's sample goodbye.wav)")
	flag.StringVar(&cfg.SalesUserID, "sales", "sales", "the user id key 1 transfers to")
	flag.Parse()

	base := ""
	if *readyFile != "" {
		var ready struct {
			GraphURL, BaseURL, TokenEndpoint, ClientID, ClientSecret string
		}
		data, err := os.ReadFile(*readyFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &ready); err != nil {
			return fmt.Errorf("%s: %v", *readyFile, err)
		}
		base = ready.BaseURL
		cfg.GraphURL, cfg.TokenEndpoint = or(cfg.GraphURL, ready.GraphURL), or(cfg.TokenEndpoint, ready.TokenEndpoint)
		cfg.ClientID, cfg.ClientSecret = or(cfg.ClientID, ready.ClientID), or(cfg.ClientSecret, ready.ClientSecret)
	}
	if cfg.GraphURL == "" || cfg.TokenEndpoint == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return fmt.Errorf("give --ready-file, or --graph-url, --token-endpoint, --client-id and --client-secret")
	}
	if base == "" {
		base = strings.TrimSuffix(cfg.GraphURL, "/v1.0")
	}
	cfg.Menu = or(cfg.Menu, base+"/media/samples/menu.wav")
	cfg.Goodbye = or(cfg.Goodbye, base+"/media/samples/goodbye.wav")
	cfg.CallbackURL = or(*public, "http://"+*listen) + "/api/calls"
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))

	bot := ivr.New(cfg)
	cfg.Log.Info("ivrbot listening", "webhook", or(*public, "http://"+*listen)+"/api/calling")
	return http.ListenAndServe(*listen, bot.Handler())
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
