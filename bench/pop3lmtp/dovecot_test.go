package pop3lmtpbench

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

// dovecotConf is Dovecot 2.3's configuration for the reference: POP3 and
// LMTP only, on loopback, plaintext USER/PASS, Maildir, mail_fsync =
// optimized (new mail and index changes are fsynced before the reply:
// Dovecot's default and its meaning of "fsync on"), users in a passwd-file
// with argon2id hashes as costly as postvault's (dovecotHash), mail owned
// by nobody, login and mail processes
// kept ready and reused (Dovecot's documented high-performance settings),
// so that the reference is Dovecot at its fastest.
const dovecotConf = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
protocols = pop3 lmtp
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
postmaster_address = postmaster@example.org
lmtp_save_to_detail_mailbox = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{dir}}/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home={{dir}}/home/%u
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = {{pop3}}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service pop3 {
  process_limit = 1024
  service_count = 100
  process_min_avail = 10
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = {{lmtp}}
  }
  process_min_avail = 4
  service_count = 0
}
`

// startDovecot runs Dovecot in the foreground from a configuration in a
// temporary folder and returns its POP3 and LMTP addresses; the process is
// stopped (by its own pid) when the benchmark ends.
func startDovecot(tb testing.TB, users []string, password string) (pop3Addr, lmtpAddr string) {
	tb.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/dovecot"); err != nil {
			tb.Skip("dovecot not installed (Debian dovecot-pop3d, dovecot-lmtpd): skipping the reference run")
		}
		bin = "/usr/sbin/dovecot"
	}
	for _, p := range []string{"/usr/lib/dovecot/pop3", "/usr/lib/dovecot/lmtp"} {
		if _, err := os.Stat(p); err != nil {
			tb.Skipf("%s missing (Debian dovecot-pop3d, dovecot-lmtpd): skipping the reference run", p)
		}
	}
	dir, err := os.MkdirTemp("", "pv-dovecot-pop3-")
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
		fmt.Fprintf(&pw, "%s:%s\n", u, dovecotHash(password))
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	pop3Port, lmtpPort := freePort(tb), freePort(tb)
	conf := strings.NewReplacer("{{dir}}", dir, "{{pop3}}", strconv.Itoa(pop3Port), "{{lmtp}}", strconv.Itoa(lmtpPort)).Replace(dovecotConf)
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
	pop3Addr = fmt.Sprintf("127.0.0.1:%d", pop3Port)
	lmtpAddr = fmt.Sprintf("127.0.0.1:%d", lmtpPort)
	for i := 0; i < 100; i++ {
		c1, err1 := net.Dial("tcp", pop3Addr)
		c2, err2 := net.Dial("tcp", lmtpAddr)
		if c1 != nil {
			c1.Close()
		}
		if c2 != nil {
			c2.Close()
		}
		if err1 == nil && err2 == nil {
			return pop3Addr, lmtpAddr
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
	tb.Fatalf("dovecot did not start listening on %s and %s:\n%s", pop3Addr, lmtpAddr, log)
	return "", ""
}

// dovecotHash is the passwd-file entry for password. By default it is an
// argon2id hash with the cost postvault's store uses in this benchmark
// (t=1, 8 MiB, 1 lane), made here in the PHC form Dovecot (libsodium)
// verifies, so that both servers do the same work per login;
// POSTVAULT_BENCH_DOVECOT_PLAIN=1 compares Dovecot with plain passwords,
// as bench/imap does.
func dovecotHash(password string) string {
	if os.Getenv("POSTVAULT_BENCH_DOVECOT_PLAIN") == "1" {
		return "{PLAIN}" + password
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	h := argon2.IDKey([]byte(password), salt, 1, 8<<10, 1, 32)
	e := base64.RawStdEncoding
	return fmt.Sprintf("{ARGON2ID}$argon2id$v=19$m=%d,t=1,p=1$%s$%s", 8<<10, e.EncodeToString(salt), e.EncodeToString(h))
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
