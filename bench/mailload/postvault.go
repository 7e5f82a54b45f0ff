package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/mail/store"
)

// server is one running mail server under test.
type server struct {
	name             string
	imap, pop3, lmtp string // 127.0.0.1:port
	pid              int
	stop             func() error
}

// proc is a server process started in the foreground by this program.
type proc struct {
	cmd  *exec.Cmd
	done chan error

	once    sync.Once
	stopErr error
}

// stop asks the process to shut down cleanly (sig), then kills it after
// grace. Only this process (by its own pid) is signalled. Later calls
// return the first call's answer.
func (p *proc) stop(sig os.Signal, grace time.Duration) error {
	p.once.Do(func() { p.stopErr = p.stop1(sig, grace) })
	return p.stopErr
}

func (p *proc) stop1(sig os.Signal, grace time.Duration) error {
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) && !ee.Exited() {
			return nil // ended by our signal
		}
		return err
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("mailload: %s did not stop within %v; killed", filepath.Base(p.cmd.Path), grace)
	}
}

// buildPostvault builds the postvault command into dir, the way the
// README does (go build ./firmware/cmd/postvault), from the module root.
func buildPostvault(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "postvault")
	cmd := exec.Command("go", "build", "-o", bin, "./firmware/cmd/postvault")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mailload: go build ./firmware/cmd/postvault: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the folder of the go.mod above the working directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("mailload: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("mailload: not inside the postvault module; give -postvault")
	}
	return filepath.Dir(mod), nil
}

// startPostvault makes a development appliance in dir (five member files
// of memberSize bytes written whole, RAID-6 by `postvault serve --dev`),
// stops it, adds the users with `postvault user add` (password on standard input; serve holds the
// members' lock, so users come first), and starts `serve` again with IMAP,
// POP3 and LMTP on free loopback ports and everything else off. The log
// goes to dir/postvault.log.
func startPostvault(bin, dir string, users []string, password string, memberSize int64, progress io.Writer) (*server, error) {
	log, err := os.Create(filepath.Join(dir, "postvault.log"))
	if err != nil {
		return nil, err
	}
	dev := filepath.Join(dir, "pv")
	if err := preallocate(dev, memberSize); err != nil {
		return nil, err
	}
	off := []string{"--imaps", "off", "--pop3s", "off", "--smtp", "off", "--http", "off"}
	first, _, err := serve(bin, dev, log, append([]string{"--imap", "off", "--pop3", "off", "--lmtp", "off"}, off...))
	if err != nil {
		return nil, err
	}
	if err := first.stop(os.Interrupt, time.Minute); err != nil {
		return nil, fmt.Errorf("mailload: first postvault serve: %w", err)
	}
	members, _ := filepath.Glob(filepath.Join(dev, "disk*.img"))
	start := time.Now()
	// The first account by the command, as an admin makes one; the rest
	// through the same store call in one open of the array, because each
	// `postvault user add` costs 3-4 s here (assembly, store open, about 80
	// fdatasyncs, a checkpoint at close), which would be three minutes for
	// 50 accounts.
	cmd := exec.Command(bin, append([]string{"user", "add", users[0]}, members...)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mailload: postvault user add %s: %v\n%s", users[0], err, out)
	}
	if err := addUsers(members, users[1:], password); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "mailload: postvault: %d accounts added in %.1f s\n", len(users), time.Since(start).Seconds())
	p, ready, err := serve(bin, dev, log, append([]string{"--imap", "127.0.0.1:0", "--pop3", "127.0.0.1:0", "--lmtp", "127.0.0.1:0"}, off...))
	if err != nil {
		return nil, err
	}
	s := &server{name: "postvault", pid: p.cmd.Process.Pid, stop: func() error {
		defer log.Close()
		return p.stop(os.Interrupt, time.Minute)
	}}
	for _, f := range strings.Fields(ready) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "imap":
			s.imap = v
		case "pop3":
			s.pop3 = v
		case "lmtp":
			s.lmtp = v
		}
	}
	if s.imap == "" || s.pop3 == "" || s.lmtp == "" {
		s.stop()
		return nil, fmt.Errorf("mailload: postvault ready line without imap, pop3, lmtp: %q", ready)
	}
	return s, nil
}

// serve starts `postvault serve --dev dev args...` and waits for its
// "postvault: ready" line, which it returns.
func serve(bin, dev string, log io.Writer, args []string) (*proc, string, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--dev", dev}, args...)...)
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("mailload: postvault serve: %w", err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	readyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(log, line)
			if !sent && strings.HasPrefix(line, "postvault: ready") {
				readyc <- strings.TrimPrefix(line, "postvault: ready")
				sent = true
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case r := <-readyc:
		return p, r, nil
	case err := <-p.done:
		return nil, "", fmt.Errorf("mailload: postvault serve ended before it was ready (%v); see its log", err)
	case <-time.After(3 * time.Minute):
		p.stop(os.Kill, time.Second)
		return nil, "", errors.New("mailload: postvault serve not ready after 3 minutes")
	}
}

// addUsers adds accounts to the store on the members as `postvault user
// add` does (store.AddUser with the store's default password cost), in one
// assembly of the array.
func addUsers(paths, users []string, password string) error {
	if len(users) == 0 {
		return nil
	}
	var ms []raid.Member
	for _, p := range paths {
		f, err := raid.OpenFile(p, false)
		if err != nil {
			for _, m := range ms {
				m.Close()
			}
			return fmt.Errorf("mailload: %w", err)
		}
		ms = append(ms, f)
	}
	arr, err := raid.Assemble(ms, nil)
	if err != nil {
		for _, m := range ms {
			m.Close()
		}
		return fmt.Errorf("mailload: %w", err)
	}
	defer arr.Close()
	st, err := store.Open(arr, &store.Options{CheckpointInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("mailload: %w", err)
	}
	// Four at a time: the store commits concurrent changes together.
	errc := make(chan error, len(users))
	sem := make(chan struct{}, 4)
	for _, u := range users {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			if err := st.AddUser(context.Background(), u, password); err != nil {
				errc <- fmt.Errorf("mailload: adding %s: %w", u, err)
				return
			}
			errc <- nil
		}()
	}
	var first error
	for range users {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if err := st.Close(); first == nil {
		first = err
	}
	return first
}

// preallocate makes the development member files serve --dev would make
// (disk0.img ... disk4.img in dev), with their blocks allocated and
// written (zeros), as a disk's are. Sparse files, serve's own default,
// cost the file system a block allocation and its metadata in every
// fdatasync of new data, more with every GiB written: the 1 MiB x 16 cell
// went from 445 to 178 deliveries/s over eight repetitions on sparse
// members, Dovecot from 186 to 121 (its files are new as well).
func preallocate(dev string, size int64) error {
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	zeros := make([]byte, 8<<20)
	for i := range 5 {
		f, err := os.OpenFile(filepath.Join(dev, fmt.Sprintf("disk%d.img", i)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("mailload: member file: %w", err)
		}
		for off := int64(0); off < size && err == nil; off += int64(len(zeros)) {
			_, err = f.WriteAt(zeros, off)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("mailload: member file: %w", err)
		}
	}
	return nil
}
