// Package imapbench measures postvault's IMAP server against Dovecot under
// the same client load, in the same run: an IMAP mix (login, select, fetch,
// store, append, expunge) from 10 and 50 concurrent clients. The figures are
// operations (IMAP commands) per second and the 99th percentile latency of
// one command; the ratio postvault/Dovecot is what BENCHMARKS.md records.
//
//	go test ./bench/imap -run XXX -bench IMAPMix -benchtime 1x
//
// Dovecot (Debian dovecot-imapd) runs from a configuration written to a
// temporary folder, on loopback, with mail_fsync = optimized; postvault runs
// on a file-backed store whose flushes are fdatasync. Without Dovecot the
// benchmark is skipped.
package imapbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	pvimap "github.com/postvault/postvault/mail/imap"
	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

const (
	numUsers = 10
	password = "bench-password"
	preload  = 50 // messages in each INBOX before the run
)

// duration of the load on each server (in two halves); POSTVAULT_EXHAUSTIVE=1
// runs longer.
func duration() time.Duration {
	if os.Getenv("POSTVAULT_EXHAUSTIVE") == "1" {
		return 30 * time.Second
	}
	return 10 * time.Second
}

func users() []string {
	var l []string
	for i := 0; i < numUsers; i++ {
		l = append(l, fmt.Sprintf("user%d@example.org", i))
	}
	return l
}

// message is a 4 KiB message, the size of a typical text mail.
func message(i int) string {
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 70)
	return fmt.Sprintf("From: bench@example.org\r\nTo: user@example.org\r\nSubject: message %d\r\nMessage-ID: <%d@bench>\r\n\r\n%s", i, i, body)
}

// startPostvault serves a fresh store on a temporary file.
func startPostvault(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	vol, err := storetest.CreateFile(filepath.Join(dir, "vol.img"), 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.Create(vol, nil); err != nil {
		tb.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The same password cost as Dovecot's hashes in this benchmark.
	st, err := store.Open(vol, &store.Options{Logger: quiet, Password: store.PasswordCost{Time: argonTime, MemoryK: argonMemory, Threads: argonLanes}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, u := range users() {
		if err := st.AddUser(context.Background(), u, password); err != nil {
			tb.Fatal(err)
		}
	}
	// 50 clients from one address: past the appliance's default of 20
	// connections per address.
	srv, err := pvimap.New(st, &pvimap.Options{Logger: quiet, Conns: limits.NewConns(1000)})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// result of one load run.
type result struct {
	ops      int
	elapsed  time.Duration
	p99      time.Duration
	loginP99 time.Duration
	errors   int
}

func (r result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }

func p99(l []time.Duration) time.Duration {
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[len(l)*99/100]
}

// preloadMailboxes appends preload messages to every user's INBOX.
func preloadMailboxes(tb testing.TB, addr string) {
	var wg sync.WaitGroup
	for _, u := range users() {
		wg.Add(1)
		go func(u string) {
			defer wg.Done()
			c, err := imapclient.DialInsecure(addr, nil)
			if err != nil {
				tb.Error(err)
				return
			}
			defer c.Close()
			if err := c.Login(u, password).Wait(); err != nil {
				tb.Error(err)
				return
			}
			for i := 0; i < preload; i++ {
				if err := appendMsg(c, message(i)); err != nil {
					tb.Error(err)
					return
				}
			}
			c.Logout().Wait()
		}(u)
	}
	wg.Wait()
}

func appendMsg(c *imapclient.Client, m string) error {
	cmd := c.Append("INBOX", int64(len(m)), nil)
	io.WriteString(cmd, m)
	cmd.Close()
	_, err := cmd.Wait()
	return err
}

// run drives clients concurrent sessions. All of them connect and log in
// first (LOGIN latency is reported on its own: with argon2id it is CPU
// work, not IMAP); then, for d, each repeats the cycle SELECT, FETCH 1:*
// FLAGS, FETCH one BODY[] (which sets \Seen), STORE +FLAGS $Bench, APPEND,
// STORE +FLAGS \Deleted on the new message and UID EXPUNGE it. Every
// command's round trip is one operation.
func run(tb testing.TB, addr string, clients int, d time.Duration) result {
	var (
		mu      sync.Mutex
		lats    []time.Duration
		logins  []time.Duration
		errs    int
		ready   sync.WaitGroup
		wg      sync.WaitGroup
		startCh = make(chan time.Time)
	)
	for i := 0; i < clients; i++ {
		ready.Add(1)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := &session{addr: addr, user: users()[i%numUsers], id: i}
			s.login()
			ready.Done()
			deadline := (<-startCh).Add(d)
			s.loop(deadline)
			if s.c != nil {
				s.c.Logout().Wait()
				s.c.Close()
			}
			mu.Lock()
			lats = append(lats, s.lats...)
			logins = append(logins, s.logins...)
			errs += s.errs
			mu.Unlock()
		}(i)
	}
	ready.Wait()
	start := time.Now()
	for i := 0; i < clients; i++ {
		startCh <- start
	}
	wg.Wait()
	return result{ops: len(lats), elapsed: time.Since(start), p99: p99(lats), loginP99: p99(logins), errors: errs}
}

// session is one client, which like a real mail client logs in once and
// stays connected; it logs in again only if its connection failed.
type session struct {
	addr, user string
	id         int
	c          *imapclient.Client
	lats       []time.Duration
	logins     []time.Duration
	errs       int
}

func (s *session) login() {
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		s.errs++
		return
	}
	t := time.Now()
	err = c.Login(s.user, password).Wait()
	s.logins = append(s.logins, time.Since(t))
	if err != nil {
		s.errs++
		c.Close()
		return
	}
	s.c = c
}

func (s *session) timed(op string, f func() error) bool {
	t := time.Now()
	err := f()
	d := time.Since(t)
	s.lats = append(s.lats, d)
	if os.Getenv("IMAPBENCH_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "op %s %s %v %v\n", s.addr, op, d, err)
	}
	if err != nil {
		s.errs++
	}
	return err == nil
}

func (s *session) loop(deadline time.Time) {
	for cycle := 0; time.Now().Before(deadline); cycle++ {
		if s.c == nil {
			s.login()
			continue
		}
		if !s.cycle(cycle) {
			s.c.Close()
			s.c = nil
		}
	}
}

// cycle runs the mix once; false means the connection is unusable.
func (s *session) cycle(cycle int) bool {
	c := s.c
	var n uint32
	if !s.timed("select", func() error {
		data, err := c.Select("INBOX", nil).Wait()
		if err == nil {
			n = data.NumMessages
		}
		return err
	}) {
		return false
	}
	if n == 0 {
		return true
	}
	s.timed("fetchflags", func() error {
		_, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: n}}, &imap.FetchOptions{Flags: true, UID: true}).Collect()
		return err
	})
	seq := uint32(cycle%int(n)) + 1
	s.timed("fetchbody", func() error {
		_, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
		return err
	})
	s.timed("store", func() error {
		return c.Store(imap.SeqSetNum(seq), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{"$Bench"}}, nil).Close()
	})
	var uid imap.UID
	s.timed("append", func() error {
		m := message(s.id*1000000 + cycle)
		cmd := c.Append("INBOX", int64(len(m)), nil)
		io.WriteString(cmd, m)
		cmd.Close()
		data, err := cmd.Wait()
		if err == nil {
			uid = data.UID
		}
		return err
	})
	if uid == 0 {
		return true
	}
	s.timed("delete", func() error {
		return c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	})
	s.timed("expunge", func() error { return c.UIDExpunge(imap.UIDSetNum(uid)).Close() })
	return true
}

// merge adds up two runs of the same server.
func merge(a, b result) result {
	return result{
		ops:      a.ops + b.ops,
		elapsed:  a.elapsed + b.elapsed,
		p99:      max(a.p99, b.p99),
		loginP99: max(a.loginP99, b.loginP99),
		errors:   a.errors + b.errors,
	}
}

// BenchmarkIMAPMix runs the mix against Dovecot and postvault for each
// client count, in the order Dovecot, postvault, postvault, Dovecot so that
// a change in the machine's load during the run weighs on both alike, and
// reports both and the ratios. p99 is the larger of a server's two runs.
func BenchmarkIMAPMix(b *testing.B) {
	dovecot := startDovecot(b, users(), password)
	postvault := startPostvault(b)
	preloadMailboxes(b, dovecot)
	preloadMailboxes(b, postvault)
	for _, clients := range []int{10, 50} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				half := duration() / 2
				ref1 := run(b, dovecot, clients, half)
				got1 := run(b, postvault, clients, half)
				got2 := run(b, postvault, clients, half)
				ref2 := run(b, dovecot, clients, half)
				ref, got := merge(ref1, ref2), merge(got1, got2)
				if got.errors > 0 || ref.errors > 0 {
					b.Logf("errors: postvault %d, dovecot %d", got.errors, ref.errors)
				}
				b.ReportMetric(got.opsPerSec(), "pv-ops/s")
				b.ReportMetric(ref.opsPerSec(), "dovecot-ops/s")
				b.ReportMetric(got.opsPerSec()/ref.opsPerSec(), "ops-ratio")
				b.ReportMetric(float64(got.p99.Microseconds())/1000, "pv-p99-ms")
				b.ReportMetric(float64(ref.p99.Microseconds())/1000, "dovecot-p99-ms")
				b.ReportMetric(float64(got.p99)/float64(ref.p99), "p99-ratio")
				b.ReportMetric(float64(got.loginP99.Microseconds())/1000, "pv-login-p99-ms")
				b.ReportMetric(float64(ref.loginP99.Microseconds())/1000, "dovecot-login-p99-ms")
			}
		})
	}
}
