// Package dovecot runs Dovecot, the reference server of postvault's mail
// benchmarks (bench/imap, bench/pop3lmtp, bench/mailload), from a
// configuration written into a temporary folder, so that nothing of the
// system's Dovecot setup is read or touched.
//
// Each benchmark keeps its own configuration text (which protocols, which
// settings); this package holds what they share: checking that Debian's
// Dovecot packages are installed (and installing them with apt-get),
// preparing the folder, writing the passwd-file and the configuration,
// argon2id password hashes in the PHC form Dovecot verifies with
// libsodium, free loopback ports, and running `dovecot -F -c FILE` in the
// foreground until Stop.
//
// The folder layout used by every configuration: DIR/run (base_dir),
// DIR/state (state_dir), DIR/dovecot.log (log_path), DIR/mail (Maildirs),
// DIR/home (homes), DIR/passwd (passwd-file), DIR/dovecot.conf.
package dovecot

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Bin is where Debian installs the Dovecot master binary.
const Bin = "/usr/sbin/dovecot"

// Binary is the dovecot program: the one on PATH, else Bin.
func Binary() (string, error) {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	if _, err := os.Stat(Bin); err != nil {
		return "", fmt.Errorf("dovecot: not installed: %w", err)
	}
	return Bin, nil
}

// Missing lists those of files that do not exist.
func Missing(files ...string) []string {
	var missing []string
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	return missing
}

// Ensure installs packages with apt-get (retrying once after apt-get
// update) when any of files is missing and we are root; otherwise it says
// what is missing. Progress is told what is being installed.
func Ensure(progress io.Writer, packages, files []string) error {
	if len(Missing(files...)) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("dovecot: missing (%s) and not root: apt-get install %s",
			strings.Join(Missing(files...), ", "), strings.Join(packages, " "))
	}
	fmt.Fprintf(progress, "dovecot: installing %s with apt-get\n", strings.Join(packages, " "))
	install := func() error {
		cmd := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, packages...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("dovecot: apt-get install: %v\n%s", err, out)
		}
		return nil
	}
	if install() != nil {
		exec.Command("apt-get", "update", "-qq").Run()
		if err := install(); err != nil {
			return err
		}
	}
	if m := Missing(files...); len(m) > 0 {
		return fmt.Errorf("dovecot: still missing after apt-get: %s", strings.Join(m, ", "))
	}
	return nil
}

// Prepare makes dir readable by Dovecot's processes and creates its run,
// state, mail and home folders; when we are root and owner ("user:group")
// is not empty, mail and home are given to owner.
func Prepare(dir, owner string) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	for _, d := range []string{"run", "state", "mail", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
	}
	if os.Geteuid() == 0 && owner != "" {
		out, err := exec.Command("chown", owner, filepath.Join(dir, "mail"), filepath.Join(dir, "home")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("dovecot: chown: %v: %s", err, out)
		}
	}
	return nil
}

// WritePasswd writes dir/passwd, one "user:entry()" line per user (entry
// is called once per user, so each may get its own salt).
func WritePasswd(dir string, users []string, entry func() string) error {
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s:%s\n", u, entry())
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	return nil
}

// WriteConfig writes dir/dovecot.conf from conf, with {{dir}} replaced by
// dir and each further old, new pair of vars replaced as given, and
// returns its path.
func WriteConfig(dir, conf string, vars ...string) (string, error) {
	if len(vars)%2 != 0 {
		return "", errors.New("dovecot: WriteConfig: odd number of vars")
	}
	text := strings.NewReplacer(append([]string{"{{dir}}", dir}, vars...)...).Replace(conf)
	path := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("dovecot: %w", err)
	}
	return path, nil
}

// Argon2id is a passwd-file password ("{ARGON2ID}$argon2id$v=19$m=M,t=T,
// p=P$SALT$HASH", base64 without padding, 16-byte random salt, 32-byte
// hash): the PHC form libsodium reads, the cost taken from the string.
// memoryKiB is in KiB, as argon2 counts it.
func Argon2id(password string, time, memoryKiB uint32, lanes uint8) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, time, memoryKiB, lanes, 32)
	e := base64.RawStdEncoding
	return fmt.Sprintf("{ARGON2ID}$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		memoryKiB, time, lanes, e.EncodeToString(salt), e.EncodeToString(key))
}

// FreePort is a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dovecot: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreePorts is n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for len(ports) < n {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		if !contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func contains(ps []int, p int) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// Addr is "127.0.0.1:port".
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// Server is a Dovecot master process started by Start.
type Server struct {
	// Pid is the master process's id; Stop signals only it.
	Pid int

	cmd     *exec.Cmd
	done    chan error
	once    sync.Once
	stopErr error
}

// Start runs bin -F -c confPath in the foreground, its output to out, and
// waits (up to wait) until every one of addrs accepts connections. If
// Dovecot ends first, or does not listen in time (it is then stopped), the
// error includes dir/dovecot.log.
func Start(bin, dir, confPath string, out io.Writer, wait time.Duration, addrs ...string) (*Server, error) {
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	s := &Server{Pid: cmd.Process.Pid, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(wait)
	for {
		up := true
		for _, a := range addrs {
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
		if time.Now().After(deadline) {
			s.Stop(10 * time.Second)
			return nil, fmt.Errorf("dovecot: not listening on %s after %v:\n%s", strings.Join(addrs, ", "), wait, LogTail(dir, 30))
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("dovecot: ended (%v):\n%s", err, LogTail(dir, 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop sends the master an interrupt (Dovecot's clean shutdown) and waits
// for it, killing it after grace. A process ended by our signal is a clean
// stop. Later calls return the first call's answer.
func (s *Server) Stop(grace time.Duration) error {
	s.once.Do(func() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-s.done:
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && !ee.Exited()) {
				s.stopErr = fmt.Errorf("dovecot: %w", err)
			}
		case <-time.After(grace):
			s.cmd.Process.Kill()
			<-s.done
			s.stopErr = fmt.Errorf("dovecot: did not stop within %v; killed", grace)
		}
	})
	return s.stopErr
}

// LogTail is the last n lines of dir/dovecot.log ("" when there is none).
func LogTail(dir string, n int) string {
	log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
