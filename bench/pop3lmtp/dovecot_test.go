package pop3lmtpbench

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/postvault/postvault/bench/dovecot"
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
	bin, err := dovecot.Binary()
	if err != nil {
		tb.Skip("dovecot not installed (Debian dovecot-pop3d, dovecot-lmtpd): skipping the reference run")
	}
	if m := dovecot.Missing("/usr/lib/dovecot/pop3", "/usr/lib/dovecot/lmtp"); len(m) > 0 {
		tb.Skipf("%s missing (Debian dovecot-pop3d, dovecot-lmtpd): skipping the reference run", m[0])
	}
	dir, err := os.MkdirTemp("", "pv-dovecot-pop3-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if testing.Verbose() {
			tb.Logf("dovecot.log, last lines:\n%s", dovecot.LogTail(dir, 15))
		}
		os.RemoveAll(dir)
	})
	if err := dovecot.Prepare(dir, "nobody:nogroup"); err != nil {
		tb.Fatal(err)
	}
	if err := dovecot.WritePasswd(dir, users, func() string { return dovecotHash(password) }); err != nil {
		tb.Fatal(err)
	}
	ports, err := dovecot.FreePorts(2)
	if err != nil {
		tb.Fatal(err)
	}
	confPath, err := dovecot.WriteConfig(dir, dovecotConf, "{{pop3}}", strconv.Itoa(ports[0]), "{{lmtp}}", strconv.Itoa(ports[1]))
	if err != nil {
		tb.Fatal(err)
	}
	pop3Addr, lmtpAddr = dovecot.Addr(ports[0]), dovecot.Addr(ports[1])
	d, err := dovecot.Start(bin, dir, confPath, os.Stderr, 20*time.Second, pop3Addr, lmtpAddr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Stop(10 * time.Second) })
	return pop3Addr, lmtpAddr
}

// dovecotHash is the passwd-file entry for password. By default it is an
// argon2id hash with the cost postvault's store uses in this benchmark
// (t=1, 8 MiB, 1 lane), made in the PHC form Dovecot (libsodium)
// verifies, so that both servers do the same work per login;
// POSTVAULT_BENCH_DOVECOT_PLAIN=1 compares Dovecot with plain passwords,
// as bench/imap does.
func dovecotHash(password string) string {
	if os.Getenv("POSTVAULT_BENCH_DOVECOT_PLAIN") == "1" {
		return "{PLAIN}" + password
	}
	return dovecot.Argon2id(password, 1, 8<<10, 1)
}
