package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// openWithChecks opens a fresh store whose Authenticate runs at most n
// password checks at once, with users u0..u3@example.org (password "pw").
func openWithChecks(t *testing.T, n int, log *slog.Logger) *store.Store {
	t.Helper()
	opts := fastOpts()
	opts.PasswordChecks = n
	if log != nil {
		opts.Logger = log
	}
	s, err := store.Open(newMem(t, 64<<20), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 4 {
		if err := s.AddUser(ctx, fmt.Sprintf("u%d@example.org", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestAuthenticateBoundsConcurrentChecks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		checks  int // Options.PasswordChecks
		callers int
	}{
		{"one at a time", 1, 8},
		{"three at a time", 3, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openWithChecks(t, tc.checks, nil)
			var peak atomic.Int32
			store.SetPasswordCheckHook(s, func(running int) {
				for {
					p := peak.Load()
					if int32(running) <= p || peak.CompareAndSwap(p, int32(running)) {
						break
					}
				}
				// Hold the slot long enough that unbounded checks would
				// overlap.
				time.Sleep(30 * time.Millisecond)
			})
			var wg sync.WaitGroup
			errs := make(chan error, tc.callers)
			for i := range tc.callers {
				wg.Go(func() {
					user := fmt.Sprintf("u%d@example.org", i%4)
					if _, err := s.Authenticate(ctx, user, "pw", "test"); err != nil {
						errs <- fmt.Errorf("Authenticate(%s) = %v, want nil", user, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := int(peak.Load()); got > tc.checks || got < 1 {
				t.Errorf("checks running at once = %d, want 1..%d", got, tc.checks)
			}
		})
	}
}

// TestAuthenticateWaitHonoursContext: a login waiting for a slot gives up
// when its context ends, without a check and without counting as a wrong
// password; unknown users wait in the same queue (timing equalisation).
func TestAuthenticateWaitHonoursContext(t *testing.T) {
	var logs syncLog
	s := openWithChecks(t, 1, slog.New(slog.NewTextHandler(&logs, nil)))
	started, gate := make(chan struct{}), make(chan struct{})
	var checks atomic.Int32
	store.SetPasswordCheckHook(s, func(int) {
		if checks.Add(1) == 1 {
			close(started)
			<-gate
		}
	})
	first := make(chan error, 1)
	go func() {
		_, err := s.Authenticate(ctx, "u0@example.org", "pw", "first")
		first <- err
	}()
	<-started
	for _, user := range []string{"u1@example.org", "nobody@example.org"} {
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		start := time.Now()
		_, err := s.Authenticate(c, user, "pw", "waiter")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrAuthFailed) {
			t.Errorf("Authenticate(%s) while the slot is taken = %v, want context.DeadlineExceeded", user, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Authenticate(%s) gave up after %v, want about 50ms", user, d)
		}
	}
	if n := checks.Load(); n != 1 {
		t.Errorf("checks run while the slot was taken = %d, want 1", n)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first Authenticate = %v, want nil", err)
	}
	if _, err := s.Authenticate(ctx, "u1@example.org", "wrong", "t"); err != store.ErrAuthFailed {
		t.Fatalf("Authenticate(wrong) after the wait = %v, want ErrAuthFailed", err)
	}
	out := logs.String()
	if strings.Count(out, "authentication abandoned") != 2 || strings.Count(out, "reason=\"wrong password\"") != 1 {
		t.Errorf("log = %s, want two abandoned logins and one wrong password", out)
	}
}

// syncLog is a log sink safe for concurrent writers.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
