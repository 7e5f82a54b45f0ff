package pop3lmtpbench

import (
	"os"
	"testing"

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
const dovecotConf = dovecot.Common + `protocols = pop3 lmtp
postmaster_address = postmaster@example.org
lmtp_save_to_detail_mailbox = no
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
	addrs := dovecot.LaunchTB(tb, bin, "pv-dovecot-pop3-", testing.Verbose(), dovecot.Options{
		Conf: dovecotConf, Ports: []string{"{{pop3}}", "{{lmtp}}"}, Owner: "nobody:nogroup", Users: users,
		Entry: func() string { return dovecotHash(password) },
	})
	return addrs[0], addrs[1]
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
