// Package pop3lmtpbench measures postvault's POP3 server and LMTP intake
// against Dovecot's pop3d and lmtpd under the same client load, in the same
// run: each client delivers mail to its own account over LMTP (a kept-open
// connection, one transaction per message) and collects it over POP3 (a new
// connection per session: USER, PASS, STAT, UIDL, RETR and DELE of every
// message, QUIT), from 10 and 50 concurrent clients. The figures are
// operations per second (an LMTP delivery or a POP3 session) and the 99th
// percentile latency of each kind; the ratio postvault/Dovecot is what
// BENCHMARKS.md records.
//
//	go test ./bench/pop3lmtp -run XXX -bench POP3LMTPMix -benchtime 1x -v
//
// Dovecot (Debian dovecot-pop3d, dovecot-lmtpd) runs from a configuration
// written to a temporary folder, on loopback, with mail_fsync = optimized;
// postvault runs on a file-backed store whose flushes are fdatasync.
// Without Dovecot the benchmark is skipped.
package pop3lmtpbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/pop3"
	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

const password = "bench-password"

// message is what every delivery carries: about 4 KiB of text in Russian
// and English.
var message = func() string {
	var b strings.Builder
	b.WriteString("From: Отправитель <sender@example.com>\r\nTo: user@example.org\r\nSubject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < 4096 {
		b.WriteString("Строка письма для измерения, line of the benchmark message.\r\n")
	}
	return b.String()
}()

func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d@example.org", i)
	}
	return out
}

// startPostvault runs postvault's POP3 and LMTP servers on a store on a
// file in a temporary folder.
func startPostvault(tb testing.TB, accounts []string) (pop3Addr, lmtpAddr string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "vol.img")
	vol, err := storetest.CreateFile(path, 2<<30)
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.Create(vol, nil); err != nil {
		tb.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The same password hash cost as bench/imap; Dovecot's passwd-file
	// holds argon2id hashes of the same cost (dovecotHash).
	st, err := store.Open(vol, &store.Options{Logger: quiet, Password: store.PasswordCost{Time: 1, MemoryK: 8 << 10, Threads: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, u := range accounts {
		if err := st.AddUser(context.Background(), u, password); err != nil {
			tb.Fatal(err)
		}
	}
	unlimited := limits.NewConns(-1)
	ps, err := pop3.New(pop3.NewStoreBackend(st), &pop3.Options{Logger: quiet, Conns: unlimited,
		Logins: limits.NewLogins(&limits.LoginOptions{MaxPerAddr: 1 << 30, MaxPerAccount: 1 << 30})})
	if err != nil {
		tb.Fatal(err)
	}
	ls, err := smtp.New(smtp.NewStoreBackend(st), &smtp.Options{LMTP: true, Logger: quiet, Conns: unlimited, Hostname: "pv.bench"})
	if err != nil {
		tb.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ll, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go ps.Serve(pl)
	go ls.Serve(ll)
	tb.Cleanup(func() { ps.Close(); ls.Close() })
	return pl.Addr().String(), ll.Addr().String()
}

// result is one run's figures.
type result struct {
	ops                  int
	elapsed              time.Duration
	lmtpP99, pop3P99     time.Duration
	deliveries, sessions int
}

func (r result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// run drives clients for d and returns the figures.
func run(tb testing.TB, pop3Addr, lmtpAddr string, accounts []string, d time.Duration) result {
	var mu sync.Mutex
	var lmtpLat, pop3Lat []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, len(accounts))
	start := time.Now()
	deadline := start.Add(d)
	for _, user := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ll, pl, err := client(pop3Addr, lmtpAddr, user, deadline)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", user, err)
			}
			mu.Lock()
			lmtpLat = append(lmtpLat, ll...)
			pop3Lat = append(pop3Lat, pl...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return result{
		ops: len(lmtpLat) + len(pop3Lat), elapsed: elapsed,
		lmtpP99: p99(lmtpLat), pop3P99: p99(pop3Lat),
		deliveries: len(lmtpLat), sessions: len(pop3Lat),
	}
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*99/100)]
}

// client loops until deadline: two LMTP deliveries, then one POP3 session
// that collects and deletes everything.
func client(pop3Addr, lmtpAddr, user string, deadline time.Time) (lmtpLat, pop3Lat []time.Duration, err error) {
	nc, err := net.Dial("tcp", lmtpAddr)
	if err != nil {
		return nil, nil, err
	}
	lc := gosmtp.NewClientLMTP(nc)
	defer lc.Close()
	if err := lc.Hello("bench.example.com"); err != nil {
		return nil, nil, err
	}
	for time.Now().Before(deadline) {
		for i := 0; i < 2; i++ {
			t0 := time.Now()
			if err := deliver(lc, user); err != nil {
				return nil, nil, fmt.Errorf("lmtp: %w", err)
			}
			lmtpLat = append(lmtpLat, time.Since(t0))
		}
		t0 := time.Now()
		if err := popSession(pop3Addr, user); err != nil {
			return nil, nil, fmt.Errorf("pop3: %w", err)
		}
		pop3Lat = append(pop3Lat, time.Since(t0))
	}
	return lmtpLat, pop3Lat, nil
}

func deliver(c *gosmtp.Client, rcpt string) error {
	if err := c.Mail("sender@example.com", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data() // in LMTP mode Close reads one reply per recipient
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, message); err != nil {
		return err
	}
	return w.Close()
}

// popSession collects and deletes every message of user.
func popSession(addr, user string) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(nc)
	cmd := func(line string) (string, error) {
		if line != "" {
			if _, err := io.WriteString(nc, line+"\r\n"); err != nil {
				return "", err
			}
		}
		s, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(s, "+OK") {
			return "", fmt.Errorf("%q: %q", line, s)
		}
		return s, nil
	}
	multi := func() (int, error) {
		n := 0
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				return 0, err
			}
			if s == ".\r\n" {
				return n, nil
			}
			n++
		}
	}
	if _, err := cmd(""); err != nil {
		return err
	}
	if _, err := cmd("USER " + user); err != nil {
		return err
	}
	if _, err := cmd("PASS " + password); err != nil {
		return err
	}
	stat, err := cmd("STAT")
	if err != nil {
		return err
	}
	var count int
	fmt.Sscanf(stat, "+OK %d", &count)
	if _, err := cmd("UIDL"); err != nil {
		return err
	}
	if n, err := multi(); err != nil || n != count {
		return fmt.Errorf("UIDL listed %d of %d: %v", n, count, err)
	}
	for i := 1; i <= count; i++ {
		if _, err := cmd("RETR " + strconv.Itoa(i)); err != nil {
			return err
		}
		if _, err := multi(); err != nil {
			return err
		}
		if _, err := cmd("DELE " + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	_, err = cmd("QUIT")
	return err
}

func BenchmarkPOP3LMTPMix(b *testing.B) {
	d := 5 * time.Second
	if s := os.Getenv("POSTVAULT_BENCH_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			d = time.Duration(n) * time.Second
		}
	}
	for _, clients := range []int{10, 50} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			accounts := users(clients)
			dp, dl := startDovecot(b, accounts, password)
			pp, pl := startPostvault(b, accounts)
			for i := 0; i < b.N; i++ {
				run(b, dp, dl, accounts, time.Second) // warm both up
				run(b, pp, pl, accounts, time.Second)
				dv := run(b, dp, dl, accounts, d)
				pv := run(b, pp, pl, accounts, d)
				b.ReportMetric(pv.opsPerSec(), "pv-ops/s")
				b.ReportMetric(dv.opsPerSec(), "dovecot-ops/s")
				b.ReportMetric(pv.opsPerSec()/dv.opsPerSec(), "ratio")
				b.ReportMetric(float64(pv.lmtpP99.Microseconds())/1000, "pv-lmtp-p99-ms")
				b.ReportMetric(float64(dv.lmtpP99.Microseconds())/1000, "dovecot-lmtp-p99-ms")
				b.ReportMetric(float64(pv.pop3P99.Microseconds())/1000, "pv-pop3-p99-ms")
				b.ReportMetric(float64(dv.pop3P99.Microseconds())/1000, "dovecot-pop3-p99-ms")
				b.Logf("postvault: %d deliveries + %d sessions in %v; dovecot: %d + %d in %v",
					pv.deliveries, pv.sessions, pv.elapsed.Round(time.Millisecond), dv.deliveries, dv.sessions, dv.elapsed.Round(time.Millisecond))
			}
		})
	}
}
