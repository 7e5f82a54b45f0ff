package appliance

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// A first start that fails because a port is taken makes no admin account,
// so the start that works still prints the password (it is shown once).
func TestFirstStartFailingKeepsPasswordForNext(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	args := []string{"--dev", dir, "--disk-size", fmt.Sprint(64 << 20), "--admin", "admin@example.org",
		"--imap", busy.Addr().String()}
	for _, s := range []string{"imaps", "pop3", "pop3s", "smtp", "lmtp", "http"} {
		args = append(args, "--"+s, "127.0.0.1:0")
	}
	cfg, err := ParseFlags(args, flag.NewFlagSet("serve", flag.ContinueOnError))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ap, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), &out)
	if err == nil {
		ap.Close()
		t.Fatalf("Start with IMAP on a busy port %s succeeded", busy.Addr())
	}
	if strings.Contains(out.String(), "password") {
		t.Errorf("a failed start printed the password: %q", out.String())
	}
	ap, out2 := startDev(t, dir)
	defer ap.Close()
	m := passwordRe.FindStringSubmatch(out2)
	if m == nil {
		t.Fatalf("the first start that worked printed no admin password:\n%s", out2)
	}
	if i, j := strings.Index(out2, "password"), strings.Index(out2, "postvault: ready"); i < 0 || j < i {
		t.Errorf("password line not before the ready line:\n%s", out2)
	}
	checkIMAP(t, ap.Addrs().IMAP, "admin@example.org", m[1], 0, "")
}
