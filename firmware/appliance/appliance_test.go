package appliance

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// startDev starts an appliance in development mode on dir with every service
// on a free loopback port.
func startDev(t *testing.T, dir string) (*Appliance, string) {
	t.Helper()
	cfg := devConfig(t, dir)
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ap, err := Start(context.Background(), cfg, log, &out)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return ap, out.String()
}

// devConfig is the configuration of development mode on dir, 64 MiB
// members, every service on a free loopback port.
func devConfig(t *testing.T, dir string) *Config {
	t.Helper()
	args := []string{"--dev", dir, "--disk-size", fmt.Sprint(64 << 20), "--admin", "admin@example.org"}
	for _, s := range []string{"imap", "imaps", "pop3", "pop3s", "smtp", "lmtp", "http", "https"} {
		args = append(args, "--"+s, "127.0.0.1:0")
	}
	cfg, err := ParseFlags(args, flag.NewFlagSet("serve", flag.ContinueOnError))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var passwordRe = regexp.MustCompile(`password (\S+) `)

func TestServeDeliverReadRestart(t *testing.T) {
	dir := t.TempDir()
	ap, out := startDev(t, dir)
	m := passwordRe.FindStringSubmatch(out)
	if m == nil {
		ap.Close()
		t.Fatalf("first start printed no admin password:\n%s", out)
	}
	pw := m[1]
	if !strings.Contains(out, "postvault: ready imap=127.0.0.1:") {
		t.Errorf("no ready line in %q", out)
	}
	if err := ap.store.AddUser(context.Background(), "alice@example.org", "s3cret-Пароль"); err != nil {
		t.Fatal(err)
	}
	msg := "From: bob@example.net\r\nTo: alice@example.org\r\nSubject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\n\r\nПривет, Алиса!\r\n"
	if err := sendMail(ap.Addrs().SMTP, "alice@example.org", msg); err != nil {
		t.Fatalf("SMTP delivery: %v", err)
	}
	err := sendMail(ap.Addrs().SMTP, "nobody@example.org", msg)
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("delivery to an unknown recipient: err = %v, want a 550", err)
	}
	checkIMAP(t, ap.Addrs().IMAP, "alice@example.org", "s3cret-Пароль", 1, "Привет, Алиса!")
	checkPOP3(t, ap.Addrs().POP3, "alice@example.org", "s3cret-Пароль", "Привет, Алиса!")
	checkStatus(t, ap.Addrs().HTTP, "clean")
	if err := ap.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Same data after a restart; no new password; the admin password works.
	ap, out = startDev(t, dir)
	defer ap.Close()
	if strings.Contains(out, "password") {
		t.Errorf("second start printed a password again: %q", out)
	}
	checkIMAP(t, ap.Addrs().IMAP, "alice@example.org", "s3cret-Пароль", 1, "Привет, Алиса!")
	checkIMAP(t, ap.Addrs().IMAP, "admin@example.org", pw, 0, "")
}

func checkIMAP(t *testing.T, addr, user, pass string, want int, body string) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("IMAP dial: %v", err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("IMAP login %s: %v", user, err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("IMAP select: %v", err)
	}
	if int(sel.NumMessages) != want {
		t.Fatalf("INBOX of %s has %d messages, want %d", user, sel.NumMessages, want)
	}
	if want == 0 {
		return
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("IMAP fetch: %v (%d messages)", err, len(msgs))
	}
	var got []byte
	for _, b := range msgs[0].BodySection {
		got = b.Bytes
	}
	if !strings.Contains(string(got), body) {
		t.Errorf("IMAP body = %q, want it to contain %q", got, body)
	}
	if !strings.Contains(string(got), "Delivered-To: alice@example.org") {
		t.Errorf("IMAP body lacks Delivered-To: %q", got)
	}
}

func checkPOP3(t *testing.T, addr, user, pass, body string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	line := func() string {
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("POP3 read: %v", err)
		}
		return s
	}
	cmd := func(c string) string {
		fmt.Fprintf(conn, "%s\r\n", c)
		s := line()
		if !strings.HasPrefix(s, "+OK") {
			t.Fatalf("POP3 %q: %q", strings.Fields(c)[0], s)
		}
		return s
	}
	line()
	cmd("USER " + user)
	cmd("PASS " + pass)
	cmd("RETR 1")
	var sb strings.Builder
	for {
		s := line()
		if s == ".\r\n" {
			break
		}
		sb.WriteString(s)
	}
	if !strings.Contains(sb.String(), body) {
		t.Errorf("POP3 RETR = %q, want it to contain %q", sb.String(), body)
	}
	cmd("QUIT")
}

func checkStatus(t *testing.T, addr, state string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `id="state" class="`+state+`"`) {
		t.Errorf("status page does not say %s:\n%s", state, b)
	}
}

// sendMail delivers msg over plain SMTP (net/smtp's SendMail insists on
// verifying the self-signed certificate that STARTTLS offers).
func sendMail(addr, rcpt, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail("bob@example.net"); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	io.WriteString(w, msg)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
