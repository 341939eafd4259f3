package loadtest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Config sizes a suite run.
type Config struct {
	// Bin is the callplane binary to run.
	Bin string
	// Concurrency is the closed-loop workers, Receivers the bots' callback
	// endpoints.
	Concurrency, Receivers int
	// Deletes is the calls hung up in the DELETE-alone runs; Cycles the full
	// call cycles run.
	Deletes, Cycles int
	// OpenLoop is how long the open-loop run at half saturation lasts.
	OpenLoop time.Duration
	// Scale are the numbers of live calls at which memory and DELETE
	// latency are measured; Sample is the DELETEs measured at each, at
	// SampleRate per second.
	Scale      []int
	Sample     int
	SampleRate float64
	// Profile, when set, is a file for a CPU profile of callplane during the
	// DELETE-alone run (its first ProfileFor).
	Profile    string
	ProfileFor time.Duration
	// Skip names phases not to run ("baseline", "cycle", "open", "scale"),
	// for profiling one of them.
	Skip map[string]bool
	// Store, when set, is a PostgreSQL URL: callplane runs as Nodes nodes
	// of a cluster on it, and requests are spread over them. The
	// database's server counts in the CPU figures.
	Store string
	Nodes int
	// Console keeps a signed-in console's event stream open on the first
	// node during the runs, as a browser showing the calls would.
	Console bool
	Log     io.Writer
}

// DefaultConfig is the run BENCHMARKS.md reports.
var DefaultConfig = Config{
	Concurrency: 32,
	Receivers:   4,
	Deletes:     20000,
	Cycles:      5000,
	OpenLoop:    10 * time.Second,
	Scale:       []int{1000, 10000, 100000},
	Sample:      5000,
	SampleRate:  500,
	Nodes:       1,
}

// Report holds a suite's figures.
type Report struct {
	Started                     time.Time
	BaselineCreate, BaselineDel Run
	Create, Cycle, Delete       Run
	HalfRate                    float64
	OpenLoop                    Run
	IdleRSS                     int64
	Scale                       []ScalePoint
	// FailoverFirst and FailoverLast are when, after a node was killed,
	// the first and the last of its calls' terminated notifications came.
	FailoverFirst, FailoverLast time.Duration
}

// ScalePoint is callplane with Live calls up.
type ScalePoint struct {
	Live   int
	RSS    int64
	Delete Run
}

// RunSuite measures the no-op baseline, then callplane, and returns the
// figures.
func RunSuite(cfg Config) (*Report, error) {
	rep := &Report{Started: time.Now()}

	if !cfg.Skip["baseline"] {
		if err := runBaseline(cfg, rep); err != nil {
			return nil, err
		}
	}
	if err := runThroughput(cfg, rep); err != nil {
		return nil, err
	}
	if !cfg.Skip["scale"] {
		if err := runScale(cfg, rep); err != nil {
			return nil, err
		}
	}
	if cfg.Store != "" && cfg.Nodes > 1 && !cfg.Skip["failover"] {
		if err := runFailover(cfg, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// failoverCalls are the calls a node owns when it is killed.
const failoverCalls = 100

// runFailover measures how long the calls of a node that dies wait for
// another node: calls are placed through the second node, which is then
// SIGKILLed, and hung up through the first. Their notifications are the
// dead node's to deliver until a live node takes its calls over, when its
// lease runs out.
func runFailover(cfg Config, rep *Report) error {
	f, t, err := startTarget(cfg, false)
	if err != nil {
		return err
	}
	defer f.stop()
	defer t.Close()
	victim, survivor := t.BaseURLs[1], t.BaseURLs[0]
	ids := make([]string, failoverCalls)
	for i := range ids {
		if ids[i], err = t.createAt(context.Background(), victim); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
	}
	if err := t.waitAll(ids, established, time.Minute); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	f.nodes[1].cmd.Process.Kill()
	f.nodes[1].cmd.Wait()
	killed := time.Now()
	for _, id := range ids {
		if err := t.hangUpAt(context.Background(), survivor, id); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
	}
	if err := t.waitAll(ids, terminated, 5*time.Minute); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	for _, id := range ids {
		at := time.Unix(0, t.calls.get(id).terminatedAt.Load())
		took := at.Sub(killed)
		if rep.FailoverFirst == 0 || took < rep.FailoverFirst {
			rep.FailoverFirst = took
		}
		rep.FailoverLast = max(rep.FailoverLast, took)
	}
	cfg.logf("failover: the killed node's calls' notifications came %v to %v after the SIGKILL", rep.FailoverFirst, rep.FailoverLast)
	return nil
}

// runBaseline measures the same requests against a server that does
// nothing.
func runBaseline(cfg Config, rep *Report) error {
	noop, noopURL, err := startNoop()
	if err != nil {
		return err
	}
	base, err := newTarget("no-op", []string{noopURL}, "x", []int{noop.pid()}, cfg.Concurrency, cfg.Receivers)
	if err != nil {
		noop.stop()
		return err
	}
	var ids []string
	rep.BaselineCreate, err = base.measure(func() (Run, error) {
		start := time.Now()
		ids, err = base.precreate(cfg.Deletes, cfg.Concurrency, false)
		return Run{N: cfg.Deletes, Elapsed: time.Since(start)}, err
	})
	if err == nil {
		rep.BaselineDel, err = base.measure(func() (Run, error) { return base.deleteRun(ids, cfg.Concurrency, 0, false) })
	}
	base.Close()
	noop.stop()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	cfg.logf("baseline: create %.0f/s, DELETE %.0f/s", rep.BaselineCreate.Rate(), rep.BaselineDel.Rate())
	return nil
}

// runThroughput measures callplane's full cycles, DELETE alone, and DELETE
// at half its saturation rate.
func runThroughput(cfg Config, rep *Report) error {
	cp, t, err := startTarget(cfg, cfg.Profile != "")
	if err != nil {
		return err
	}
	defer cp.stop()
	defer t.Close()
	if !cfg.Skip["cycle"] {
		if rep.Cycle, err = t.measure(func() (Run, error) { return t.cycleRun(cfg.Cycles, cfg.Concurrency) }); err != nil {
			return fmt.Errorf("cycles: %w", err)
		}
		cfg.logf("callplane: %.0f full cycles/s", rep.Cycle.Rate())
	}
	var ids []string
	rep.Create, err = t.measure(func() (Run, error) {
		start := time.Now()
		ids, err = t.precreate(cfg.Deletes, cfg.Concurrency, true)
		return Run{N: cfg.Deletes, Elapsed: time.Since(start)}, err
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var profiled <-chan error
	if cfg.Profile != "" {
		profiled = cp.profile(cfg.Profile, cfg.ProfileFor)
	}
	if rep.Delete, err = t.measure(func() (Run, error) { return t.deleteRun(ids, cfg.Concurrency, 0, true) }); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		cfg.logf("callplane: CPU profile of the DELETE run in %s", cfg.Profile)
	}
	cfg.logf("callplane: DELETE %.0f/s", rep.Delete.Rate())
	if cfg.Skip["open"] {
		return nil
	}
	rep.HalfRate = rep.Delete.Rate() / 2
	n := int(rep.HalfRate * cfg.OpenLoop.Seconds())
	if ids, err = t.precreate(n, cfg.Concurrency, true); err != nil {
		return fmt.Errorf("open loop: %w", err)
	}
	if rep.OpenLoop, err = t.measure(func() (Run, error) { return t.deleteRun(ids, 0, rep.HalfRate, true) }); err != nil {
		return fmt.Errorf("open loop: %w", err)
	}
	cfg.logf("callplane: open loop at %.0f DELETE/s: p99 DELETE→terminated %v", rep.HalfRate, rep.OpenLoop.Notified.Quantile(0.99))
	return nil
}

// runScale fills a fresh callplane to each number of live calls, and reads
// its memory and DELETE latency at each.
func runScale(cfg Config, rep *Report) error {
	cp, t, err := startTarget(cfg, false)
	if err != nil {
		return err
	}
	defer cp.stop()
	defer t.Close()
	idle, _ := ReadProc(cp.pid())
	rep.IdleRSS = idle.RSS
	live := 0
	for _, target := range cfg.Scale {
		if _, err := t.precreate(target-live, cfg.Concurrency, true); err != nil {
			return fmt.Errorf("scale %d: %w", target, err)
		}
		live = target
		// Every call is established, so its notifications went out; give
		// the last outcomes a moment to be recorded before reading RSS.
		time.Sleep(2 * time.Second)
		now, _ := ReadProc(cp.pid())
		point := ScalePoint{Live: live, RSS: now.RSS}
		// DELETE latency with `live` calls up: create a sample on top, hang
		// it up at a steady rate; the live count stays where it was.
		sample, err := t.precreate(cfg.Sample, cfg.Concurrency, true)
		if err != nil {
			return fmt.Errorf("scale %d sample: %w", target, err)
		}
		if point.Delete, err = t.measure(func() (Run, error) { return t.deleteRun(sample, 0, cfg.SampleRate, true) }); err != nil {
			return fmt.Errorf("scale %d sample: %w", target, err)
		}
		cfg.logf("scale: %d live calls, RSS %.0f MiB, DELETE p99 %v", live, mib(point.RSS), point.Delete.Request.Quantile(0.99))
		rep.Scale = append(rep.Scale, point)
	}
	return nil
}

// fleet is a phase's callplane: one process, or the nodes of a cluster.
type fleet struct {
	nodes        []*server
	adminSecret  string
	base         string
	shared       bool // the nodes keep their state in a database that outlives them
	closeConsole func()
}

// stop closes the console, empties a cluster's database for the next
// phase, then stops every node.
func (f *fleet) stop() {
	if f.closeConsole != nil {
		f.closeConsole()
	}
	if len(f.nodes) > 0 && f.shared {
		reset(f.base, f.adminSecret)
	}
	for _, n := range f.nodes {
		n.stop()
	}
}

func (f *fleet) pid() int { return f.nodes[0].pid() }

// profile profiles the first node.
func (f *fleet) profile(file string, d time.Duration) <-chan error {
	return f.nodes[0].profile(file, d)
}

// startTarget runs a fresh callplane (cfg.Nodes nodes on cfg.Store, or one
// on its own) and the bots that drive it.
func startTarget(cfg Config, profiler bool) (*fleet, *Target, error) {
	f := &fleet{}
	var (
		bases []string
		pids  []int
		token string
	)
	for i := range max(cfg.Nodes, 1) {
		cp, base, tok, adminSecret, err := startCallplane(cfg.Bin, profiler && i == 0, cfg.Store)
		if err != nil {
			f.stop()
			return nil, nil, err
		}
		f.nodes = append(f.nodes, cp)
		bases, pids = append(bases, base), append(pids, cp.pid())
		if i == 0 {
			token = tok
			f.base, f.adminSecret, f.shared = base, adminSecret, cfg.Store != ""
			if f.shared {
				if err := reset(base, adminSecret); err != nil { // what an earlier run left
					f.stop()
					return nil, nil, err
				}
			}
		}
	}
	t, err := newTarget("callplane", bases, token, pids, cfg.Concurrency, cfg.Receivers)
	if err != nil {
		f.stop()
		return nil, nil, err
	}
	if cfg.Console {
		if f.closeConsole, err = openConsole(f.base, f.adminSecret); err != nil {
			f.stop()
			return nil, nil, fmt.Errorf("console: %w", err)
		}
	}
	if cfg.Store != "" {
		t.StoreCPU = func() float64 { return CommandCPU("postgres") }
	}
	return f, t, nil
}

func (cfg Config) logf(format string, args ...any) { fmt.Fprintf(cfg.Log, format+"\n", args...) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// Markdown renders the report as the tables BENCHMARKS.md holds.
func (r *Report) Markdown(cfg Config) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("Run of %s; %d closed-loop workers, %d callback receivers.", r.Started.Format("2006-01-02 15:04 MST"), cfg.Concurrency, cfg.Receivers)
	if cfg.Store != "" {
		p("callplane: %d node(s) on PostgreSQL; its server's CPU is counted with callplane's (%.3f s of the DELETE run's %.3f s).",
			max(cfg.Nodes, 1), r.Delete.StoreCPU, r.Delete.CPU)
	}
	p("")
	p("| Measure | no-op baseline | callplane | ratio |")
	p("|---|---|---|---|")
	p("| create, requests/s (%d calls) | %.0f | %.0f | %.2f |", cfg.Deletes, r.BaselineCreate.Rate(), r.Create.Rate(), r.Create.Rate()/r.BaselineCreate.Rate())
	p("| DELETE alone, requests/s (%d calls) | %.0f | %.0f | **%.2f** |", cfg.Deletes, r.BaselineDel.Rate(), r.Delete.Rate(), r.Delete.Rate()/r.BaselineDel.Rate())
	p("| DELETE latency p50 / p99 / max | %s / %s / %s | %s / %s / %s | |",
		ms(r.BaselineDel.Request.Quantile(.5)), ms(r.BaselineDel.Request.Quantile(.99)), ms(r.BaselineDel.Request.Quantile(1)),
		ms(r.Delete.Request.Quantile(.5)), ms(r.Delete.Request.Quantile(.99)), ms(r.Delete.Request.Quantile(1)))
	p("| DELETE sent → terminated received, p50 / p99 / max (closed loop) | | %s / %s / %s | |",
		ms(r.Delete.Notified.Quantile(.5)), ms(r.Delete.Notified.Quantile(.99)), ms(r.Delete.Notified.Quantile(1)))
	p("| server CPU seconds per 1000 DELETEs | %.3f | %.3f | %.1f |", 1000*r.BaselineDel.CPU/float64(r.BaselineDel.N), 1000*r.Delete.CPU/float64(r.Delete.N),
		(r.Delete.CPU/float64(r.Delete.N))/(r.BaselineDel.CPU/float64(r.BaselineDel.N)))
	p("| full cycles/s (create → established → DELETE → terminated; %d cycles) | | %.0f | |", cfg.Cycles, r.Cycle.Rate())
	p("| cycle: DELETE → terminated p50 / p99 / max | | %s / %s / %s | |",
		ms(r.Cycle.Notified.Quantile(.5)), ms(r.Cycle.Notified.Quantile(.99)), ms(r.Cycle.Notified.Quantile(1)))
	p("| open loop at half saturation (%.0f DELETE/s for %v): DELETE p50 / p99 / max | | %s / %s / %s | |", r.HalfRate, cfg.OpenLoop,
		ms(r.OpenLoop.Request.Quantile(.5)), ms(r.OpenLoop.Request.Quantile(.99)), ms(r.OpenLoop.Request.Quantile(1)))
	p("| open loop at half saturation: DELETE sent → terminated p50 / **p99** / max | | %s / **%s** / %s | |",
		ms(r.OpenLoop.Notified.Quantile(.5)), ms(r.OpenLoop.Notified.Quantile(.99)), ms(r.OpenLoop.Notified.Quantile(1)))
	p("| server peak RSS | %.0f MiB | %.0f MiB | |", mib(r.BaselineDel.PeakRSS), mib(r.OpenLoop.PeakRSS))
	p("")
	p("| Live calls | callplane RSS | RSS per live call | DELETE p50 / p99 / max at %.0f/s | DELETE → terminated p99 |", cfg.SampleRate)
	p("|---|---|---|---|---|")
	p("| 0 (idle) | %.0f MiB | | | |", mib(r.IdleRSS))
	for _, s := range r.Scale {
		p("| %d | %.0f MiB | %.1f KiB | %s / %s / %s | %s |", s.Live, mib(s.RSS), float64(s.RSS-r.IdleRSS)/float64(s.Live)/1024,
			ms(s.Delete.Request.Quantile(.5)), ms(s.Delete.Request.Quantile(.99)), ms(s.Delete.Request.Quantile(1)), ms(s.Delete.Notified.Quantile(.99)))
	}
	if r.FailoverLast > 0 {
		p("")
		p("Failover: %d calls of a node SIGKILLed, hung up through another node: their terminated notifications arrived %.2f s to %.2f s after the kill.",
			failoverCalls, r.FailoverFirst.Seconds(), r.FailoverLast.Seconds())
	}
	if n := len(r.Scale); n > 1 {
		first, last := r.Scale[0], r.Scale[n-1]
		p("")
		p("DELETE p99 at %d live calls / at %d: **%.2f**.", last.Live, first.Live,
			float64(last.Delete.Request.Quantile(.99))/float64(first.Delete.Request.Quantile(.99)))
	}
	return b.String()
}
