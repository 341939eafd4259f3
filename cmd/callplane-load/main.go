// Command callplane-load measures callplane: it runs callplane and a no-op
// HTTP server as child processes, drives both on loopback with many
// concurrent bots and real callback receivers, and prints the figures of
// BENCHMARKS.md, callplane's as ratios to the no-op server's.
//
//	go run ./cmd/callplane-load                 # builds callplane, runs the whole suite
//	go run ./cmd/callplane-load --bin ./callplane --deletes 5000
//	go run ./cmd/callplane-load --store postgres://localhost/callplane --nodes 2
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/loadtest"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "noop" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		if err := loadtest.ServeNoop(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	cfg := loadtest.DefaultConfig
	cfg.Log = os.Stderr
	flag.StringVar(&cfg.Bin, "bin", "", "callplane binary to measure (default: build ./cmd/callplane)")
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "closed-loop workers")
	flag.IntVar(&cfg.Receivers, "receivers", cfg.Receivers, "callback receivers (bots' endpoints)")
	flag.IntVar(&cfg.Deletes, "deletes", cfg.Deletes, "calls hung up in the DELETE-alone runs")
	flag.IntVar(&cfg.Cycles, "cycles", cfg.Cycles, "full call cycles")
	flag.DurationVar(&cfg.OpenLoop, "open-loop", cfg.OpenLoop, "length of the open-loop run at half saturation")
	scale := flag.String("scale", "1000,10000,100000", "live-call counts for the memory and latency-at-scale runs")
	flag.IntVar(&cfg.Sample, "sample", cfg.Sample, "DELETEs measured at each scale point")
	flag.Float64Var(&cfg.SampleRate, "sample-rate", cfg.SampleRate, "DELETEs per second at each scale point")
	flag.StringVar(&cfg.Profile, "profile", "", "write a CPU profile of callplane during the DELETE-alone run to this file")
	flag.DurationVar(&cfg.ProfileFor, "profile-for", 5*time.Second, "how long to profile (keep it under the DELETE run's length)")
	skip := flag.String("skip", "", "comma-separated phases to leave out: baseline, cycle, open, scale, failover (to profile one)")
	flag.StringVar(&cfg.Store, "store", "", "PostgreSQL URL: run callplane as --nodes nodes of a cluster on it (the database is reset before each phase)")
	flag.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "with --store: nodes to start and spread the requests over")
	flag.BoolVar(&cfg.Console, "console", false, "keep a signed-in console's event stream open during the runs, as a browser showing the calls would")
	flag.Parse()
	if cfg.Nodes != 1 && cfg.Store == "" {
		fmt.Fprintln(os.Stderr, "--nodes: nodes of a cluster share a --store")
		os.Exit(2)
	}
	cfg.Skip = map[string]bool{}
	for _, p := range strings.Split(*skip, ",") {
		cfg.Skip[strings.TrimSpace(p)] = true
	}
	cfg.Scale = nil
	for _, s := range strings.Split(*scale, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintln(os.Stderr, "--scale:", err)
			os.Exit(2)
		}
		cfg.Scale = append(cfg.Scale, n)
	}
	if cfg.Bin == "" {
		dir, err := os.MkdirTemp("", "callplane-load-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		cfg.Bin = filepath.Join(dir, "callplane")
		build := exec.Command("go", "build", "-o", cfg.Bin, "./cmd/callplane")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build callplane (run from the repository root, or pass --bin):", err)
			os.Exit(1)
		}
	}
	rep, err := loadtest.RunSuite(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "callplane-load:", err)
		os.Exit(1)
	}
	fmt.Print(rep.Markdown(cfg))
}
