package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// authLimit bounds the argon2id verifications that run at once. Each one
// holds the hash's memory (64 MiB at the default cost) and keeps the CPU
// busy, so letting every login of a burst check at once only multiplies the
// memory (60 logins: 3.8 GiB) and makes every one of them finish at the
// end. With the bound, memory stays near Options.PasswordChecks times the
// cost and logins finish in the order they arrived: a full buffered channel
// hands a freed slot to the sender that has waited longest.
//
// The zero value is ready; the channel is made at the first check.
type authLimit struct {
	once sync.Once
	sem  chan struct{}

	running atomic.Int32 // checks between acquire and release
	// hook, when set (tests, before the first check), is called inside
	// every check with the number of checks running, itself included.
	hook func(running int)
}

// acquire waits for a slot, or until ctx ends. n is the bound; n <= 0 means
// GOMAXPROCS. Only the first call's n counts.
func (l *authLimit) acquire(ctx context.Context, n int) error {
	l.once.Do(func() {
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		l.sem = make(chan struct{}, n)
	})
	select {
	case l.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *authLimit) release() { <-l.sem }

// verifyPassword checks password against hash (a PHC argon2id string)
// once a slot of s.auth is free. It returns an error only when ctx ends
// before the check starts; a check once started always completes.
func (s *Store) verifyPassword(ctx context.Context, hash, password string) (bool, error) {
	if err := s.auth.acquire(ctx, s.opts.PasswordChecks); err != nil {
		return false, err
	}
	defer s.auth.release()
	n := s.auth.running.Add(1)
	defer s.auth.running.Add(-1)
	if s.auth.hook != nil {
		s.auth.hook(int(n))
	}
	return checkPassword(hash, password), nil
}

// authAbandoned logs a login whose check never ran because its context
// ended while it waited for a slot (the client went away, or the protocol
// gave up), and returns the error Authenticate gives back.
func (s *Store) authAbandoned(user, remote string, err error) error {
	s.log.Warn("store: authentication abandoned", "user", user, "remote", remote, "reason", err.Error())
	return fmt.Errorf("store: authentication not checked: %w", err)
}
