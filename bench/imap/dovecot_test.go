package imapbench

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// dovecotConf is Dovecot 2.3's configuration for the reference: IMAP only,
// on loopback, plaintext LOGIN, Maildir, mail_fsync = optimized (fsync of
// new mail and indexes before the reply, Dovecot's default: "fsync on"),
// every user in a passwd-file with argon2id hashes of the same cost as
// postvault's in this benchmark (Dovecot checks them with libsodium, reading
// the cost from the hash), mail owned by nobody,
// login and mail processes kept ready and reused (Dovecot's documented
// performance settings), so that the reference is Dovecot at its fastest.
const dovecotConf = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{{dir}}/mail/%u
mail_fsync = optimized
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_max_userip_connections = 1000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{dir}}/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home={{dir}}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{port}}
  }
  inet_listener imaps {
    port = 0
  }
  # high-performance mode: login processes are reused, not forked per
  # connection
  service_count = 0
  process_min_avail = 2
}
service auth {
  client_limit = 2000
}
service imap {
  process_limit = 1024
  # all users share one uid, so mail processes may be reused and kept
  # ready: Dovecot at its fastest
  service_count = 100
  process_min_avail = 10
}
`

// startDovecot runs Dovecot in the foreground from a configuration in a
// temporary folder and returns its address; the process is stopped (by its
// own pid) when the benchmark ends.
func startDovecot(tb testing.TB, users []string, password string) string {
	tb.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/dovecot"); err != nil {
			tb.Skip("dovecot not installed (Debian package dovecot-imapd): skipping the reference run")
		}
		bin = "/usr/sbin/dovecot"
	}
	dir, err := os.MkdirTemp("", "pv-dovecot-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if testing.Verbose() {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			tb.Logf("dovecot.log, last lines:\n%s", strings.Join(lines[max(0, len(lines)-15):], "\n"))
		}
		os.RemoveAll(dir)
	})
	os.Chmod(dir, 0o755)
	for _, d := range []string{"run", "state", "mail", "home"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	exec.Command("chown", "nobody:nogroup", filepath.Join(dir, "mail"), filepath.Join(dir, "home")).Run()
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s:{ARGON2ID}%s\n", u, argon2idPHC(password))
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	port := freePort(tb)
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port)).Replace(dovecotConf)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
	tb.Fatalf("dovecot did not start listening on %s:\n%s", addr, log)
	return ""
}

// Password hashing cost of both servers in the benchmark: argon2id, one
// pass over 8 MiB, one lane (the appliance default is 64 MiB, 2 lanes).
const (
	argonTime   = 1
	argonMemory = 8 << 10 // KiB
	argonLanes  = 1
)

// argon2idPHC hashes a password in the PHC string format libsodium reads.
func argon2idPHC(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonLanes, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonLanes, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
