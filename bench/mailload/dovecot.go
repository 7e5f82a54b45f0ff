package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
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
func dovecotMissing() []string {
	var missing []string
	for _, f := range dovecotFiles {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	return missing
}

// ensureDovecot installs the Dovecot packages with apt-get when they are
// missing and we are root; otherwise it says what is missing.
func ensureDovecot(progress io.Writer) error {
	if len(dovecotMissing()) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("mailload: Dovecot missing (%s) and not root: apt-get install %s",
			strings.Join(dovecotMissing(), ", "), strings.Join(dovecotPackages, " "))
	}
	fmt.Fprintf(progress, "mailload: installing %s with apt-get\n", strings.Join(dovecotPackages, " "))
	install := func() error {
		cmd := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, dovecotPackages...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("mailload: apt-get install: %v\n%s", err, out)
		}
		return nil
	}
	if install() != nil {
		exec.Command("apt-get", "update", "-qq").Run()
		if err := install(); err != nil {
			return err
		}
	}
	if m := dovecotMissing(); len(m) > 0 {
		return fmt.Errorf("mailload: still missing after apt-get: %s", strings.Join(m, ", "))
	}
	return nil
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
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{"run", "state", "mail", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		for _, d := range []string{"mail", "home"} {
			if out, err := exec.Command("chown", uid+":"+gid, filepath.Join(dir, d)).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("mailload: chown: %v: %s", err, out)
			}
		}
	}
	// One hash for every user: each login still verifies it in full (no
	// cache), so the work per login is what separate hashes would cost.
	hash := argon2idHash(password)
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s:%s\n", u, hash)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return nil, err
	}
	ports := make([]string, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{fsync}}", fsync, "{{internal}}", internal, "{{login}}", login,
		"{{uid}}", uid, "{{gid}}", gid, "{{imap}}", ports[0], "{{pop3}}", ports[1], "{{lmtp}}", ports[2]).Replace(dovecotConf)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("/usr/sbin/dovecot", "-F", "-c", confPath)
	logf, err := os.Create(filepath.Join(dir, "dovecot.out"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mailload: dovecot: %w", err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	s := &server{name: "Dovecot", pid: cmd.Process.Pid,
		imap: "127.0.0.1:" + ports[0], pop3: "127.0.0.1:" + ports[1], lmtp: "127.0.0.1:" + ports[2],
		stop: func() error { defer logf.Close(); return p.stop(os.Interrupt, 20*time.Second) }}
	for range 200 {
		up := true
		for _, a := range []string{s.imap, s.pop3, s.lmtp} {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				up = false
				break
			}
			c.Close()
		}
		if up {
			return s, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			out, _ := os.ReadFile(filepath.Join(dir, "dovecot.out"))
			return nil, fmt.Errorf("mailload: dovecot ended (%v):\n%s%s", err, out, log)
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.stop()
	return nil, errors.New("mailload: dovecot not listening after 20 s; see dovecot.log")
}

// argon2idHash is a passwd-file password in the PHC form libsodium reads,
// with postvault's default cost (mail/store: time 1, 64 MiB, 2 lanes).
func argon2idHash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	const t, m, p = 1, 64 << 10, 2
	h := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	e := base64.RawStdEncoding
	return fmt.Sprintf("{ARGON2ID}$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p, e.EncodeToString(salt), e.EncodeToString(h))
}

// freePort is a TCP port on 127.0.0.1 free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}
