package main

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/postvault/postvault/bench/dovecot"
)

// Dovecot, the reference: Debian's dovecot-imapd, dovecot-pop3d and
// dovecot-lmtpd (2.3.19 on Debian 12), run in the foreground (`dovecot -F
// -c FILE`) from a configuration written into a temporary folder, so that
// nothing of the system's Dovecot setup is read or touched.

// dovecotPackages are the Debian packages of the reference.
var dovecotPackages = []string{"dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd"}

// dovecotFiles must exist for the reference to run.
var dovecotFiles = []string{"/usr/sbin/dovecot", "/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3", "/usr/lib/dovecot/lmtp"}

// dovecotMissing lists the files of dovecotFiles that are not there.
func dovecotMissing() []string { return dovecot.Missing(dovecotFiles...) }

// ensureDovecot installs the Dovecot packages with apt-get when they are
// missing and we are root; otherwise it says what is missing.
func ensureDovecot(progress io.Writer) error {
	return dovecot.Ensure(progress, dovecotPackages, dovecotFiles)
}

// dovecotConf is the whole configuration. Choices, each Dovecot's own
// documented setting:
//   - mail_fsync = {{fsync}}: "optimized" (Dovecot's default) fsyncs every
//     saved message file before the delivery or APPEND is answered, which is
//     the same promise postvault makes with its 250/OK (the mail is on
//     disk); "always" also fsyncs index files after each change (which
//     Dovecot can rebuild from the Maildir). Never "never", which would
//     acknowledge mail that a power cut loses.
//   - Maildir under the temporary folder, one per user (%u).
//   - passwd-file users with argon2id hashes of exactly postvault's default
//     cost (the store's: t=1, 64 MiB, 2 lanes), verified by libsodium;
//     no auth cache (the default), as postvault has none.
//   - listeners on 127.0.0.1 high ports only; no SSL; plaintext LOGIN/USER
//     allowed (loopback, as postvault allows it there).
//   - Dovecot at its fastest: login and mail processes kept ready and
//     reused ("high-performance mode"), all users one uid.
const dovecotConf = `# written by bench/mailload; run as: dovecot -F -c THIS_FILE
base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{{dir}}/mail/%u
mail_fsync = {{fsync}}
default_internal_user = {{internal}}
default_login_user = {{login}}
first_valid_uid = 0
mail_max_userip_connections = 1000
postmaster_address = postmaster@bench.test
passdb {
  driver = passwd-file
  args = username_format=%u {{dir}}/passwd
}
userdb {
  driver = static
  args = uid={{uid}} gid={{gid}} home={{dir}}/home/%u
}
service auth {
  client_limit = 4000
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{imap}}
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
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
service imap {
  process_limit = 1024
  service_count = 100
  process_min_avail = 10
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
  process_limit = 1024
  service_count = 0
  process_min_avail = 4
}
`

// startDovecot writes the configuration and the passwd-file into dir and
// runs Dovecot in the foreground until stop.
func startDovecot(dir string, users []string, password, fsync string) (*server, error) {
	if fsync != "optimized" && fsync != "always" {
		return nil, fmt.Errorf("mailload: mail_fsync %q: only optimized or always (never would not be durable)", fsync)
	}
	// As root, Dovecot's own users run its processes and mail is owned by
	// nobody; as anyone else, that user runs everything.
	internal, login, uid, gid := "dovecot", "dovenull", "nobody", "nogroup"
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, err
		}
		internal, login, uid, gid = u.Username, u.Username, u.Uid, u.Gid
	}
	logf, err := os.Create(filepath.Join(dir, "dovecot.out"))
	if err != nil {
		return nil, err
	}
	// One hash for every user: each login still verifies it in full (no
	// cache), so the work per login is what separate hashes would cost.
	// postvault's default cost (mail/store: time 1, 64 MiB, 2 lanes).
	hash := dovecot.Argon2id(password, 1, 64<<10, 2)
	d, addrs, err := dovecot.Launch(dovecot.Bin, &dovecot.Options{
		Dir: dir, Conf: dovecotConf, Ports: []string{"{{imap}}", "{{pop3}}", "{{lmtp}}"},
		Vars:  []string{"{{fsync}}", fsync, "{{internal}}", internal, "{{login}}", login, "{{uid}}", uid, "{{gid}}", gid},
		Owner: uid + ":" + gid, Users: users, Entry: func() string { return hash },
		Out: logf, Wait: 20 * time.Second,
	})
	if err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, "dovecot.out"))
		logf.Close()
		return nil, fmt.Errorf("mailload: %w\n%s", err, out)
	}
	return &server{name: "Dovecot", pid: d.Pid, imap: addrs[0], pop3: addrs[1], lmtp: addrs[2],
		stop: func() error { defer logf.Close(); return d.Stop(20 * time.Second) }}, nil
}
