package appliance

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// cheapPasswords keeps argon2id cheap in tests that log in many times.
var cheapPasswords = store.PasswordCost{Time: 1, MemoryK: 64, Threads: 1}

// logBuf is a log sink that tests can search.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWith starts an appliance from the serve arguments args (plus a small
// disk size and the admin name) and returns it with the admin's password
// and its log.
func startWith(t *testing.T, args ...string) (*Appliance, string, *logBuf) {
	t.Helper()
	// Every service off unless args name it (a later flag wins).
	base := []string{"--disk-size", fmt.Sprint(64 << 20), "--admin", "admin@example.org"}
	for _, s := range (&Listen{}).services() {
		base = append(base, "--"+s.Name, "off")
	}
	args = append(base, args...)
	cfg, err := ParseFlags(args, flag.NewFlagSet("serve", flag.ContinueOnError))
	if err != nil {
		t.Fatal(err)
	}
	cfg.passwordCost = cheapPasswords
	var out bytes.Buffer
	lb := &logBuf{}
	ap, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(lb, nil)), &out)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { ap.Close() })
	m := passwordRe.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no admin password in %q", out.String())
	}
	return ap, m[1], lb
}

// onLoopback is the listen flags for every service on a free loopback port.
func onLoopback(services ...string) []string {
	var args []string
	for _, s := range services {
		args = append(args, "--"+s, "127.0.0.1:0")
	}
	return args
}

// locate posts state to bay n's locate action with the given credentials
// (user "" sends none) and extra headers.
func locate(t *testing.T, c *http.Client, base string, n int, user, pass string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/bay/%d/locate", base, n), strings.NewReader("state=on"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST locate: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestStatusPageAuth(t *testing.T) {
	ap, pw, logs := startWith(t, append([]string{"--dev", t.TempDir()}, onLoopback("http", "https")...)...)
	if err := ap.store.AddUser(context.Background(), "alice@example.org", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	plain, secure := "http://"+ap.Addrs().HTTP, "https://"+ap.Addrs().HTTPS

	// Reading stays open.
	for _, u := range []string{plain + "/", plain + "/api/status", secure + "/api/status"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", u, resp.StatusCode)
		}
	}

	tests := []struct {
		name       string
		base       string
		user, pass string
		hdr        map[string]string
		want       int
		wantLocate bool
	}{
		{name: "no credentials", base: plain, want: http.StatusUnauthorized},
		{name: "wrong password", base: plain, user: "admin@example.org", pass: "guess", want: http.StatusUnauthorized},
		{name: "unknown user", base: secure, user: "mallory@example.org", pass: "guess", want: http.StatusUnauthorized},
		{name: "not the admin", base: plain, user: "alice@example.org", pass: "alice-pw", want: http.StatusForbidden},
		{name: "cross-site browser request", base: plain, user: "admin@example.org", pass: pw,
			hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden},
		{name: "foreign origin", base: plain, user: "admin@example.org", pass: pw,
			hdr: map[string]string{"Origin": "http://evil.example"}, want: http.StatusForbidden},
		{name: "admin over loopback", base: plain, user: "admin@example.org", pass: pw, want: http.StatusOK, wantLocate: true},
		{name: "admin over TLS, same-origin browser", base: secure, user: "admin@example.org", pass: pw,
			hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: http.StatusOK, wantLocate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ap.disks.SetLocate(2, false); err != nil {
				t.Fatal(err)
			}
			got, hdr, body := locate(t, c, tt.base, 2, tt.user, tt.pass, tt.hdr)
			if got != tt.want {
				t.Fatalf("POST locate = %d %q, want %d", got, body, tt.want)
			}
			if got == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", hdr.Get("WWW-Authenticate"))
			}
			if on := bayLocate(t, ap, 2); on != tt.wantLocate {
				t.Errorf("bay 2 locate = %v, want %v", on, tt.wantLocate)
			}
		})
	}
	for _, want := range []string{`msg="http: login failed" user=admin@example.org`, `msg="http: login failed" user=mallory@example.org`,
		`msg="http: cross-origin request refused"`, `msg="http: admin action" user=admin@example.org`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

func bayLocate(t *testing.T, ap *Appliance, n int) bool {
	t.Helper()
	for _, b := range ap.disks.Bays() {
		if b.Number == n {
			return b.Locate
		}
	}
	t.Fatalf("no bay %d", n)
	return false
}

// TestStatusPageLoginLimit: the failed-login limit is the one IMAP uses:
// failures over HTTP lock the address out of IMAP too, and the other way.
func TestStatusPageLoginLimit(t *testing.T) {
	ap, pw, _ := startWith(t, append([]string{"--dev", t.TempDir()}, onLoopback("http", "imap")...)...)
	c := &http.Client{Timeout: 30 * time.Second}
	base := "http://" + ap.Addrs().HTTP
	for i := 0; i < 10; i++ { // limits.LoginOptions.MaxPerAddr's default
		if got, _, body := locate(t, c, base, 1, "admin@example.org", "guess", nil); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: POST = %d %q, want 401", i, got, body)
		}
	}
	got, hdr, body := locate(t, c, base, 1, "admin@example.org", pw, nil)
	if got != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("POST with the right password after 10 failures = %d %q (Retry-After %q), want 429 with Retry-After", got, body, hdr.Get("Retry-After"))
	}
	line := imapLoginLine(t, ap.Addrs().IMAP, "admin@example.org", pw)
	if !strings.Contains(line, "NO [UNAVAILABLE]") {
		t.Errorf("IMAP LOGIN after 10 HTTP failures = %q, want NO [UNAVAILABLE]", line)
	}
}

// imapLoginLine connects, logs in and returns the tagged answer, a BYE, or
// what went wrong (safe to call from any goroutine).
func imapLoginLine(t *testing.T, addr, user, pass string) string {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 4096)
	var got []byte
	readUntil := func(prefix string) string {
		for {
			if i := bytes.Index(got, []byte("\r\n")); i >= 0 {
				line := string(got[:i])
				got = got[i+2:]
				if strings.HasPrefix(line, prefix) || strings.HasPrefix(line, "* BYE") {
					return line
				}
				continue
			}
			n, err := conn.Read(buf)
			if err != nil {
				return "closed: " + err.Error()
			}
			got = append(got, buf[:n]...)
		}
	}
	if g := readUntil("* OK"); !strings.HasPrefix(g, "* OK") {
		return g
	}
	fmt.Fprintf(conn, "a LOGIN %q %q\r\n", user, pass)
	return readUntil("a ")
}

// TestStatusPagePlaintextLAN: from a LAN address over plain HTTP no
// password is asked for or looked at, and the page points to HTTPS;
// --allow-insecure-auth allows it.
func TestStatusPagePlaintextLAN(t *testing.T) {
	lan := lanAddr(t)
	for _, insecure := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow-insecure-auth=%v", insecure), func(t *testing.T) {
			args := []string{"--dev", t.TempDir(), "--http", net.JoinHostPort(lan, "0"), "--https", net.JoinHostPort(lan, "0")}
			if insecure {
				args = append(args, "--allow-insecure-auth")
			}
			ap, pw, logs := startWith(t, args...)
			c := &http.Client{Timeout: 30 * time.Second}
			got, hdr, body := locate(t, c, "http://"+ap.Addrs().HTTP, 3, "admin@example.org", pw, nil)
			page := get(t, c, "http://"+ap.Addrs().HTTP+"/")
			if insecure {
				if got != http.StatusOK {
					t.Fatalf("POST = %d %q, want 200", got, body)
				}
				if !strings.Contains(page, `action="/api/bay/1/locate"`) {
					t.Errorf("page without locate buttons though allowed")
				}
				return
			}
			_, port, _ := net.SplitHostPort(ap.Addrs().HTTPS)
			if got != http.StatusForbidden || hdr.Get("WWW-Authenticate") != "" || !strings.Contains(body, "https://"+net.JoinHostPort(lan, port)+"/") {
				t.Fatalf("POST over plain HTTP from the LAN = %d %q (challenge %q), want 403 naming the HTTPS page and no challenge", got, body, hdr.Get("WWW-Authenticate"))
			}
			if bayLocate(t, ap, 3) {
				t.Errorf("bay 3 located by a refused request")
			}
			if !strings.Contains(logs.String(), "password sent without TLS refused") {
				t.Errorf("no log line for the refused plaintext password")
			}
			if strings.Contains(page, `action="/api/bay/1/locate"`) || !strings.Contains(page, `id="admin-note"`) {
				t.Errorf("plain LAN page offers locate buttons or lacks the HTTPS note")
			}
		})
	}
}

// lanAddr is a non-loopback address of this machine, so that a test can
// be a LAN client of itself; the test is skipped without one.
func lanAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address to be a LAN client from")
	return ""
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStatusPageCurl drives the locate action with curl, as the README
// shows, over HTTPS with the self-signed certificate.
func TestStatusPageCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed (make deps installs it)")
	}
	ap, pw, _ := startWith(t, append([]string{"--dev", t.TempDir()}, onLoopback("http", "https")...)...)
	run := func(args ...string) string {
		out, err := exec.Command("curl", append([]string{"-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	if got := run("-d", "on", "http://"+ap.Addrs().HTTP+"/api/bay/4/locate"); got != "401" {
		t.Errorf("curl without -u = %s, want 401", got)
	}
	if got := run("-k", "-u", "admin@example.org:"+pw, "-d", "on", "https://"+ap.Addrs().HTTPS+"/api/bay/4/locate"); got != "200" {
		t.Errorf("curl -u over HTTPS = %s, want 200", got)
	}
	if !bayLocate(t, ap, 4) {
		t.Errorf("bay 4 not located after curl's request")
	}
}
