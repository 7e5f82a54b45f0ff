// Command mailload measures postvault against Dovecot with the same client
// load, on the same machine, in the same run, and prints the figures and
// their ratios as Markdown (the tables of BENCHMARKS.md).
//
// It builds postvault (or takes -postvault), starts `postvault serve --dev`
// on five member files (RAID-6) in a temporary folder with test accounts
// made by `postvault user add`, installs Debian's Dovecot with apt-get if it
// is missing (as root), starts Dovecot in the foreground from a config
// written into the same temporary folder (passwd-file, Maildir,
// mail_fsync = optimized), and runs three loads against both, with clients
// written here on go-smtp (LMTP), go-imap v2's imapclient and a small POP3
// client:
//
//  1. durable deliveries over LMTP: 4 KiB, 64 KiB and 1 MiB messages, 1 and
//     16 clients (issue 3, goal postvault >= 2x Dovecot);
//  2. an IMAP mix (login, select, fetch, store, append, expunge), 10 and 50
//     clients: ops/s and p99 (issue 4, goal >= 1.5x with p99 no worse);
//  3. a POP3/LMTP mix (deliver, login, STAT, LIST, UIDL, RETR, DELE, QUIT),
//     10 and 50 clients, same goal.
//
// Every load is bounded in time and in count, on 127.0.0.1 only. The two
// servers take turns, cell by cell, starting with the other one each cell,
// so that the load from the rest of the machine weighs on both.
//
// Usage:
//
//	go run ./bench/mailload [-postvault BIN] [-short] [-fsync optimized|always]
//	    [-deliver-time 3s] [-mix-time 6s] [-only deliver,imap,pop3] [-sizes 4,64,1024]
//	    [-clients 1,16] [-perf FILE] [-keep]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// config is one benchmark run.
type config struct {
	postvault      string // binary; "" builds one
	users          int
	deliverSizes   []int
	deliverClients []int
	deliverTime    time.Duration
	deliverBytes   int64 // per cell and server: bounds the count
	deliverReps    int   // repetitions of each delivery cell; the median ratio is reported
	memberSize     int64 // bytes of each of postvault's five member files
	mixClients     []int
	imap, pop3     bool // run the mixes
	mixTime        time.Duration
	mixMaxOps      int // per client
	kept           int // prefilled messages per IMAP account
	fsync          string
	perf           string // perf record postvault into this file
	keep           bool
}

func defaultConfig() config {
	return config{
		users:          50,
		deliverSizes:   []int{4 << 10, 64 << 10, 1 << 20},
		deliverClients: []int{1, 16},
		deliverTime:    3 * time.Second,
		deliverBytes:   256 << 20,
		deliverReps:    3,
		// Three repetitions of every delivery cell store up to about
		// 2.5 GiB: 2 GiB members make a 6 GiB volume.
		memberSize: 2 << 30,
		mixClients: []int{10, 50},
		imap:       true,
		pop3:       true,
		mixTime:    6 * time.Second,
		mixMaxOps:  20000,
		kept:       8,
		fsync:      "optimized",
	}
}

// shortConfig is the smoke run: every load, tiny.
func shortConfig() config {
	c := defaultConfig()
	c.users = 2
	c.deliverSizes = []int{4 << 10, 1 << 20}
	c.deliverClients = []int{2}
	c.deliverTime = 300 * time.Millisecond
	c.deliverBytes = 4 << 20
	c.deliverReps = 1
	c.memberSize = 256 << 20
	c.mixClients = []int{2}
	c.mixTime = 500 * time.Millisecond
	c.mixMaxOps = 200
	c.kept = 2
	return c
}

func main() {
	short := flag.Bool("short", false, "smoke run: two accounts, two clients, well under a second per load")
	bin := flag.String("postvault", "", "postvault binary (default: go build ./firmware/cmd/postvault)")
	fsync := flag.String("fsync", "optimized", "Dovecot's mail_fsync: optimized or always")
	dt := flag.Duration("deliver-time", 0, "time per delivery cell and server (default 3s)")
	mt := flag.Duration("mix-time", 0, "time per mix cell and server (default 6s)")
	perf := flag.String("perf", "", "record `perf` samples of postvault serve during the loads into this file")
	only := flag.String("only", "", "run only these loads, comma-separated: deliver, imap, pop3")
	keep := flag.Bool("keep", false, "keep the temporary folder (logs, members, Maildirs)")
	sizes := flag.String("sizes", "", "delivery message sizes in KiB, comma-separated (default 4,64,1024)")
	clients := flag.String("clients", "", "delivery client counts, comma-separated (default 1,16)")
	reps := flag.Int("reps", 0, "repetitions of each delivery cell, the servers alternating; the median ratio counts (default 3)")
	flag.Parse()
	cfg := defaultConfig()
	if *short {
		cfg = shortConfig()
	}
	cfg.postvault, cfg.fsync, cfg.perf, cfg.keep = *bin, *fsync, *perf, *keep
	if *only != "" {
		want := map[string]bool{}
		for _, w := range strings.Split(*only, ",") {
			want[strings.TrimSpace(w)] = true
		}
		if !want["deliver"] {
			cfg.deliverSizes = nil
		}
		if !want["imap"] {
			cfg.imap = false
		}
		if !want["pop3"] {
			cfg.pop3 = false
		}
	}
	if *sizes != "" && cfg.deliverSizes != nil {
		cfg.deliverSizes = nil
		for _, n := range intList(*sizes) {
			cfg.deliverSizes = append(cfg.deliverSizes, n<<10)
		}
	}
	if *clients != "" {
		cfg.deliverClients = intList(*clients)
	}
	if *dt > 0 {
		cfg.deliverTime = *dt
	}
	if *mt > 0 {
		cfg.mixTime = *mt
	}
	if *reps > 0 {
		cfg.deliverReps = *reps
	}
	rep, err := run(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rep.markdown(os.Stdout)
}

// intList parses a comma-separated list of positive integers, exiting on a
// bad one (a command-line mistake).
func intList(s string) []int {
	var out []int
	for _, w := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "mailload: %q is not a positive number\n", w)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

// run sets both servers up, runs every load and stops them again.
func run(cfg config, progress io.Writer) (*report, error) {
	if err := ensureDovecot(progress); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pv-mailload-")
	if err != nil {
		return nil, err
	}
	if cfg.keep {
		fmt.Fprintf(progress, "mailload: keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	bin := cfg.postvault
	if bin == "" {
		fmt.Fprintln(progress, "mailload: go build ./firmware/cmd/postvault")
		if bin, err = buildPostvault(dir); err != nil {
			return nil, err
		}
	}
	users := make([]string, cfg.users)
	for i := range users {
		users[i] = fmt.Sprintf("load%02d@bench.test", i)
	}
	const password = "load-Passw0rd"
	rep := &report{cfg: cfg, date: time.Now().UTC(), cores: runtime.NumCPU(), loadStart: loadavg()}

	fmt.Fprintf(progress, "mailload: postvault serve --dev (RAID-6 on five files) with %d accounts\n", len(users))
	pv, err := startPostvault(bin, dir, users, password, cfg.memberSize, progress)
	if err != nil {
		return nil, err
	}
	defer pv.stop()
	dovecotDir := dir + "/dovecot"
	if err := os.Mkdir(dovecotDir, 0o755); err != nil {
		return nil, err
	}
	dc, err := startDovecot(dovecotDir, users, password, cfg.fsync)
	if err != nil {
		return nil, err
	}
	defer dc.stop()
	fmt.Fprintf(progress, "mailload: postvault imap=%s pop3=%s lmtp=%s (pid %d); Dovecot imap=%s pop3=%s lmtp=%s (pid %d)\n",
		pv.imap, pv.pop3, pv.lmtp, pv.pid, dc.imap, dc.pop3, dc.lmtp, dc.pid)
	// An interrupt stops both servers before we go.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)
	go func() {
		if _, ok := <-sigc; ok {
			pv.stop()
			dc.stop()
			os.Exit(130)
		}
	}()

	mixUsers := users[:min(len(users), maxOf(cfg.mixClients))]
	for _, s := range []*server{dc, pv} {
		start := time.Now()
		if err := prefill(s.lmtp, mixUsers, cfg.kept); err != nil {
			return nil, fmt.Errorf("mailload: prefill %s: %w", s.name, err)
		}
		fmt.Fprintf(progress, "mailload: %s: %d messages prefilled in %.1f s\n", s.name, len(mixUsers)*cfg.kept, time.Since(start).Seconds())
	}
	if cfg.perf != "" {
		stop, err := perfRecord(cfg.perf, pv.pid)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	cell := 0
	// both runs one cell against both servers, the other one first each
	// time, and returns postvault's and Dovecot's results.
	both := func(what string, load func(s *server) *result) (pvr, dcr *result) {
		order := []*server{dc, pv}
		if cell%2 == 1 {
			order = []*server{pv, dc}
		}
		cell++
		for _, s := range order {
			r := load(s)
			fmt.Fprintf(progress, "mailload: %-28s %-9s %8.1f ops/s  p99 %-8v errors %d %s\n", what, s.name, r.opsPerSec(), r.p(0.99).Round(time.Millisecond), r.errs, r.errMsg)
			fmt.Fprintf(progress, "mailload:     per kind (count p50 p99):%s\n", r.kinds())
			if s == pv {
				pvr = r
			} else {
				dcr = r
			}
		}
		return pvr, dcr
	}
	for _, n := range cfg.mixClients {
		if !cfg.imap {
			break
		}
		pvr, dcr := both(fmt.Sprintf("imap mix, %d clients", n), func(s *server) *result {
			return imapLoad(s.imap, users, password, cfg.kept, n, cfg.mixTime, cfg.mixMaxOps)
		})
		rep.imap = append(rep.imap, row{clients: n, pv: pvr, dc: dcr})
	}
	for _, n := range cfg.mixClients {
		if !cfg.pop3 {
			break
		}
		pvr, dcr := both(fmt.Sprintf("pop3/lmtp mix, %d clients", n), func(s *server) *result {
			return pop3Load(s.pop3, s.lmtp, users, password, n, cfg.mixTime, cfg.mixMaxOps)
		})
		rep.pop3 = append(rep.pop3, row{clients: n, pv: pvr, dc: dcr})
	}
	for _, size := range cfg.deliverSizes {
		for _, n := range cfg.deliverClients {
			per := int(max(4, cfg.deliverBytes/int64(size)/int64(n)))
			var reps []row
			for range max(1, cfg.deliverReps) {
				pvr, dcr := both(fmt.Sprintf("lmtp %s, %d clients", sizeName(size), n), func(s *server) *result {
					return deliveryLoad(s.lmtp, users, size, n, cfg.deliverTime, per)
				})
				reps = append(reps, row{size: size, clients: n, pv: pvr, dc: dcr})
			}
			rep.deliver = append(rep.deliver, medianRow(reps))
		}
	}
	rep.loadEnd = loadavg()
	if err := dc.stop(); err != nil {
		fmt.Fprintf(progress, "mailload: stopping Dovecot: %v\n", err)
	}
	if err := pv.stop(); err != nil {
		return nil, fmt.Errorf("mailload: postvault did not shut down cleanly: %w", err)
	}
	return rep, nil
}

// perfRecord samples postvault's stacks with Linux perf until stop.
func perfRecord(file string, pid int) (stop func(), err error) {
	cmd := exec.Command("perf", "record", "-g", "-F", "499", "-o", file, "-p", fmt.Sprint(pid))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mailload: perf record: %w", err)
	}
	return func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }, nil
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
