package pop3

import (
	"errors"
	"fmt"
	"time"
)

// Answers to failed logins. One text for wrong user and wrong password
// (RFC 1939 section 13: do not tell which).
var (
	errAuthInvalid   = &Error{Code: CodeAuth, Text: "invalid user name or password"}
	errAuthPlaintext = &Error{Code: CodeAuth, Text: "plaintext authentication is not allowed without TLS; use STLS (or port 995) first"}
	errInUse         = &Error{Code: CodeInUse, Text: "maildrop already locked by another POP3 session; try again later"}
	errSysTemp       = &Error{Code: CodeSysTemp, Text: "cannot open the maildrop now; try again later"}
)

// login authenticates with the backend (the store's one authentication
// function), takes the maildrop lock and enters the TRANSACTION state
// (RFC 1939 section 4, RFC 2449 section 8.1, RFC 3206).
func (c *conn) login(username, password string) error {
	if !c.insecureAuthAllowed() {
		return errAuthPlaintext
	}
	remote := c.nc.RemoteAddr()
	if wait, ok := c.s.opts.Logins.Allow(remote, username); !ok {
		c.log.Warn("login refused: too many failures", "user", username, "wait", wait.Round(time.Second).String())
		return &Error{Code: CodeLoginDelay, Text: fmt.Sprintf("too many failed logins; try again in %d seconds", int(wait.Seconds())+1)}
	}
	drop, err := c.s.be.Login(c.s.ctx, username, password, remote.String())
	var pe *Error
	switch {
	case err == nil:
	case errors.Is(err, ErrAuthFailed) || errors.As(err, &pe) && pe.Code == CodeAuth:
		c.s.opts.Logins.Failed(remote, username)
		c.log.Warn("login failed", "user", username, "tls", c.tls)
		c.pause()
		return errAuthInvalid
	case errors.Is(err, ErrInUse):
		return errInUse
	case errors.As(err, &pe):
		return pe
	default:
		c.log.Error("login: backend", "user", username, "err", err)
		return errSysTemp
	}
	c.s.opts.Logins.Succeeded(remote, username)
	account := drop.Account()
	if !c.s.lock(account, c) {
		drop.Close()
		c.log.Info("login: maildrop in use", "account", account)
		return errInUse
	}
	msgs, validity, err := drop.List(c.s.ctx)
	if err != nil {
		drop.Close()
		c.s.unlock(account, c)
		c.log.Error("login: list maildrop", "account", account, "err", err)
		return errSysTemp
	}
	c.drop, c.account, c.msgs, c.deleted = drop, account, msgs, make([]bool, len(msgs))
	c.uidValidity = validity
	c.state = stateTransaction
	c.log = c.log.With("account", account)
	c.log.Info("login", "tls", c.tls, "messages", len(msgs))
	var size int64
	for _, m := range msgs {
		size += m.Size
	}
	return c.writeOK("maildrop has %d messages (%d octets)", len(msgs), size)
}

// pause waits Options.FailureDelay, or less if the server closes.
func (c *conn) pause() {
	if c.s.opts.FailureDelay <= 0 {
		return
	}
	t := time.NewTimer(c.s.opts.FailureDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.s.ctx.Done():
	}
}
