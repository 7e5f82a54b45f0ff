package imap

import (
	"context"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// SetAuthenticate makes s check passwords with f instead of the store's
// Authenticate (a slow authenticator, for tests). Call it before Serve.
func SetAuthenticate(s *Server, f func(ctx context.Context, user, password, remote string) (*store.Account, error)) {
	s.authenticate = f
}

// SetRefuseTimeout sets how long s spends on refusing a connection over the
// limit (5 seconds otherwise). Call it before Serve.
func SetRefuseTimeout(s *Server, d time.Duration) { s.refuseTimeout = d }
