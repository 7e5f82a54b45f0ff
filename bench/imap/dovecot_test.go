package imapbench

import (
	"testing"

	"github.com/postvault/postvault/bench/dovecot"
)

// dovecotConf is Dovecot 2.3's configuration for the reference: IMAP only,
// on loopback, plaintext LOGIN, Maildir, mail_fsync = optimized (fsync of
// new mail and indexes before the reply, Dovecot's default: "fsync on"),
// every user in a passwd-file with argon2id hashes of the same cost as
// postvault's in this benchmark (Dovecot checks them with libsodium, reading
// the cost from the hash), mail owned by nobody,
// login and mail processes kept ready and reused (Dovecot's documented
// performance settings), so that the reference is Dovecot at its fastest.
const dovecotConf = dovecot.Common + `protocols = imap
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
	bin, err := dovecot.Binary()
	if err != nil {
		tb.Skip("dovecot not installed (Debian package dovecot-imapd): skipping the reference run")
	}
	return dovecot.LaunchTB(tb, bin, "pv-dovecot-", testing.Verbose(), dovecot.Options{
		Conf: dovecotConf, Ports: []string{"{{port}}"}, Owner: "nobody:nogroup", Users: users,
		Entry: func() string { return dovecot.Argon2id(password, argonTime, argonMemory, argonLanes) },
	})[0]
}

// Password hashing cost of both servers in the benchmark: argon2id, one
// pass over 8 MiB, one lane (the appliance default is 64 MiB, 2 lanes).
const (
	argonTime   = 1
	argonMemory = 8 << 10 // KiB
	argonLanes  = 1
)
