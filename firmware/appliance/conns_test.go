package appliance

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestResolveConns(t *testing.T) {
	tests := []struct {
		name     string
		flags    ConnLimits
		settings map[string]string
		want     ConnLimits
		wantBad  []string
	}{
		{name: "defaults", want: ConnLimits{IMAP: 50, POP3: 20, SMTP: 20, LMTP: 100}},
		{name: "settings", settings: map[string]string{"serve.imap-conns": "80", "serve.lmtp-conns": "-1"},
			want: ConnLimits{IMAP: 80, POP3: 20, SMTP: 20, LMTP: -1}},
		{name: "flags win", flags: ConnLimits{IMAP: 5, SMTP: -1}, settings: map[string]string{"serve.imap-conns": "80", "serve.pop3-conns": "7"},
			want: ConnLimits{IMAP: 5, POP3: 7, SMTP: -1, LMTP: 100}},
		{name: "bad setting", settings: map[string]string{"serve.pop3-conns": "many", "serve.smtp-conns": "0"},
			want: ConnLimits{IMAP: 50, POP3: 20, SMTP: 20, LMTP: 100}, wantBad: []string{"serve.pop3-conns", "serve.smtp-conns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{Conns: tt.flags}
			var bad []string
			got := c.resolveConns(func(k string) (string, bool) { v, ok := tt.settings[k]; return v, ok },
				func(k, v string) { bad = append(bad, k) })
			if got != tt.want {
				t.Errorf("resolveConns = %+v, want %+v", got, tt.want)
			}
			if fmt.Sprint(bad) != fmt.Sprint(tt.wantBad) {
				t.Errorf("bad settings = %v, want %v", bad, tt.wantBad)
			}
		})
	}
}

// memberFiles makes five blank member files for a box-mode start
// (--members: no loopback exemption, limits as on the box).
func memberFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var ps []string
	for i := 0; i < 5; i++ {
		p := filepath.Join(dir, fmt.Sprintf("m%d.img", i))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 64<<20); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return strings.Join(ps, ",")
}

// greeting connects and returns the first line the server sends (or why
// there was none), keeping the connection open until the test ends.
func greeting(t *testing.T, addr string, useTLS bool) string {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		return "dial: " + err.Error()
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "silent close: " + err.Error()
	}
	return strings.TrimRight(line, "\r\n")
}

// TestConnLimitsPerProtocol: each protocol counts its own connections per
// address, and a connection past a limit hears why in its protocol.
func TestConnLimitsPerProtocol(t *testing.T) {
	args := append([]string{"--members", memberFiles(t), "--board", "", "--imap-conns", "3", "--pop3-conns", "2", "--smtp-conns", "2", "--lmtp-conns", "1"},
		onLoopback("imap", "imaps", "pop3", "pop3s", "smtp", "lmtp")...)
	ap, _, _ := startWith(t, args...)
	a := ap.Addrs()
	if ap.conns != (ConnLimits{IMAP: 3, POP3: 2, SMTP: 2, LMTP: 1}) {
		t.Fatalf("limits in force = %+v", ap.conns)
	}
	type step struct {
		addr   string
		tls    bool
		prefix string
	}
	steps := []step{
		// IMAP and IMAPS share the IMAP count of 3.
		{a.IMAP, false, "* OK"}, {a.IMAP, false, "* OK"}, {a.IMAPS, true, "* OK"},
		{a.IMAP, false, "* BYE [UNAVAILABLE]"}, {a.IMAPS, true, "* BYE [UNAVAILABLE]"},
		// POP3 has its own count of 2, untouched by the 3 IMAP connections.
		{a.POP3, false, "+OK"}, {a.POP3S, true, "+OK"}, {a.POP3, false, "-ERR [SYS/TEMP]"}, {a.POP3S, true, "-ERR [SYS/TEMP]"},
		{a.SMTP, false, "220 "}, {a.SMTP, false, "220 "}, {a.SMTP, false, "421 "},
		{a.LMTP, false, "220 "}, {a.LMTP, false, "421 "},
	}
	for i, s := range steps {
		if got := greeting(t, s.addr, s.tls); !strings.HasPrefix(got, s.prefix) {
			t.Errorf("connection %d to %s (tls %v): first line %q, want %q...", i, s.addr, s.tls, got, s.prefix)
		}
	}
}

// TestDevLoopbackUnlimited: in development mode 60 simultaneous clients
// from 127.0.0.1 (a benchmark, a test) all log in; none is refused or
// dropped.
func TestDevLoopbackUnlimited(t *testing.T) {
	ap, pw, _ := startWith(t, append([]string{"--dev", t.TempDir()}, onLoopback("imap", "pop3")...)...)
	const clients = 60
	answers := make(chan string, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() { answers <- imapLoginLine(t, ap.Addrs().IMAP, "admin@example.org", pw) })
	}
	wg.Wait()
	close(answers)
	counts := map[string]int{}
	for a := range answers {
		if strings.HasPrefix(a, "a OK") {
			a = "a OK"
		}
		counts[a]++
	}
	if counts["a OK"] != clients {
		t.Errorf("%d concurrent IMAP logins from loopback: %v, want all a OK", clients, counts)
	}
	// POP3 too, beyond the box's 20.
	for i := 0; i < 25; i++ {
		if got := greeting(t, ap.Addrs().POP3, false); !strings.HasPrefix(got, "+OK") {
			t.Fatalf("POP3 connection %d from loopback: %q, want +OK", i, got)
		}
	}
}
