package dovecot

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Options says what Launch writes and starts.
type Options struct {
	Dir   string        // the folder (existing) of everything Dovecot writes
	Conf  string        // the configuration; {{dir}}, Ports and Vars are replaced
	Ports []string      // placeholders in Conf, each given a free loopback port
	Vars  []string      // further old, new pairs replaced in Conf
	Owner string        // "user:group" of mail and home when root (Prepare)
	Users []string      // the passwd-file's users
	Entry func() string // the password entry of each user (e.g. Argon2id)
	Out   io.Writer     // Dovecot's standard output and error
	Wait  time.Duration // how long Dovecot may take to listen (default 20 s)
}

// Launch prepares o.Dir, writes the passwd-file and the configuration, and
// starts bin on it; it returns the server and the addresses of o.Ports, in
// order, once all of them accept connections.
func Launch(bin string, o *Options) (*Server, []string, error) {
	if err := Prepare(o.Dir, o.Owner); err != nil {
		return nil, nil, err
	}
	if err := WritePasswd(o.Dir, o.Users, o.Entry); err != nil {
		return nil, nil, err
	}
	ports, err := FreePorts(len(o.Ports))
	if err != nil {
		return nil, nil, err
	}
	vars := append([]string{}, o.Vars...)
	addrs := make([]string, len(ports))
	for i, p := range ports {
		vars = append(vars, o.Ports[i], strconv.Itoa(p))
		addrs[i] = Addr(p)
	}
	confPath, err := WriteConfig(o.Dir, o.Conf, vars...)
	if err != nil {
		return nil, nil, err
	}
	wait := o.Wait
	if wait == 0 {
		wait = 20 * time.Second
	}
	s, err := Start(bin, o.Dir, confPath, o.Out, wait, addrs...)
	if err != nil {
		return nil, nil, err
	}
	return s, addrs, nil
}

// TB is the part of testing.TB that LaunchTB uses.
type TB interface {
	Helper()
	Fatal(args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// LaunchTB is Launch for a test or benchmark: o.Dir is a new temporary
// folder named after pattern (os.MkdirTemp), Dovecot's output goes to
// standard error, and when tb ends Dovecot is stopped, the last lines of
// its log are logged if verbose, and the folder is removed. Any failure
// is fatal to tb.
func LaunchTB(tb TB, bin, pattern string, verbose bool, o Options) []string {
	tb.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if verbose {
			tb.Logf("dovecot.log, last lines:\n%s", LogTail(dir, 15))
		}
		os.RemoveAll(dir)
	})
	o.Dir, o.Out = dir, os.Stderr
	s, addrs, err := Launch(bin, &o)
	if err != nil {
		tb.Fatal(fmt.Errorf("dovecot in %s: %w", dir, err))
	}
	tb.Cleanup(func() { s.Stop(10 * time.Second) })
	return addrs
}

// Common is the beginning of the configuration of the Go benchmarks
// (bench/imap, bench/pop3lmtp): folders under {{dir}} (see the package
// comment), loopback only, no SSL, plaintext logins allowed, Maildir with
// mail_fsync = optimized (Dovecot's default: new mail and index changes
// fsynced before the reply), the passwd-file's users (hashes carry their
// scheme, e.g. {ARGON2ID}), all mail owned by nobody. Each benchmark
// appends its protocols and services.
const Common = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
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
`
