package imap

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/store"
)

// Login checks a password with the store, the one authentication path of
// every protocol (RFC 9051 section 6.2.3; AUTHENTICATE PLAIN, RFC 4616,
// comes here through the library). Failures are counted per address and
// account in limits.Logins and logged, one line each; past the limit the
// attempt is refused without asking the store.
func (s *session) Login(username, password string) error {
	if s.acct != nil {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Already authenticated"}
	}
	logins := s.srv.opts.Logins
	if wait, ok := logins.Allow(s.remote, username); !ok {
		s.srv.log.Warn("imap: login refused, too many failures", "user", username, "remote", s.remote.String(), "retry_in", wait.Round(1e9).String())
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeUnavailable,
			Text: fmt.Sprintf("Too many failed logins, try again in %d seconds", int(wait.Seconds())+1),
		}
	}
	// The login timer must not drop the connection while the store checks
	// (the check may wait its turn behind other logins); see guardConn.
	ctx := s.ctx()
	if s.guard != nil {
		ctx = s.guard.loginCtx
		s.guard.beginCheck()
		defer s.guard.endCheck()
	}
	acct, err := s.srv.authenticate(ctx, username, password, s.remote.String())
	if errors.Is(err, store.ErrAuthFailed) {
		logins.Failed(s.remote, username)
		s.srv.log.Warn("imap: login failed", "user", username, "remote", s.remote.String())
		return imapserver.ErrAuthFailed
	}
	if err != nil {
		return s.fail("login", err)
	}
	logins.Succeeded(s.remote, username)
	s.acct = acct
	if s.guard != nil {
		s.guard.authenticated()
	}
	s.srv.log.Info("imap: login", "user", acct.Name(), "remote", s.remote.String())
	return nil
}

// Unauthenticate returns to the not-authenticated state (RFC 8437).
func (s *session) Unauthenticate() error {
	s.closeSelected()
	s.acct = nil
	if s.guard != nil {
		s.guard.unauthenticated()
	}
	return nil
}
