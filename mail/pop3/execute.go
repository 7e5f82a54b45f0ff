package pop3

import (
	"errors"
	"strings"
)

// handler runs one command. It writes its own +OK answer; an *Error it
// returns is sent verbatim, errQuit closes the session after its answer, and
// any other error is logged, answered "-ERR [SYS/TEMP]" and closes the
// session.
type handler func(c *conn, cmd command) error

// commandSpec says in which states a command is valid.
type commandSpec struct {
	fn     handler
	states []state
}

var (
	authz = []state{stateAuthorization}
	trans = []state{stateTransaction}
	both  = []state{stateAuthorization, stateTransaction}
)

// commands maps each keyword to its handler, in the file cmd_<keyword>.go.
var commands map[string]commandSpec

func init() {
	// Built in init only to break the initialization cycle between this
	// table and the handlers that consult it (CAPA); no side effects.
	commands = map[string]commandSpec{
		"CAPA": {(*conn).handleCapa, both},
		"STLS": {(*conn).handleStls, authz},
		"USER": {(*conn).handleUser, authz},
		"PASS": {(*conn).handlePass, authz},
		"AUTH": {(*conn).handleAuth, authz},
		"STAT": {(*conn).handleStat, trans},
		"LIST": {(*conn).handleList, trans},
		"UIDL": {(*conn).handleUidl, trans},
		"RETR": {(*conn).handleRetr, trans},
		"TOP":  {(*conn).handleTop, trans},
		"DELE": {(*conn).handleDele, trans},
		"RSET": {(*conn).handleRset, trans},
		"NOOP": {(*conn).handleNoop, trans},
		"QUIT": {(*conn).handleQuit, both},
	}
}

// execute parses and runs one command line.
func (c *conn) execute(line string) error {
	cmd, err := parseCommand(line)
	if err != nil {
		return c.writeErr(&Error{Text: strings.TrimPrefix(err.Error(), "pop3: ")})
	}
	spec, ok := commands[cmd.name]
	if !ok {
		return c.writeErr(&Error{Text: "unknown command " + cmd.name})
	}
	allowed := false
	for _, s := range spec.states {
		allowed = allowed || s == c.state
	}
	if !allowed {
		if c.state == stateAuthorization {
			return c.writeErr(&Error{Text: cmd.name + " not allowed before login"})
		}
		return c.writeErr(&Error{Text: cmd.name + " not allowed after login"})
	}
	err = spec.fn(c, cmd)
	var pe *Error
	switch {
	case err == nil:
		return nil
	case err == errQuit:
		c.bw.Flush()
		return errQuit
	case errors.As(err, &pe):
		return c.writeErr(pe)
	case errors.As(err, new(*abortError)):
		c.log.Info("session aborted", "command", cmd.name, "account", c.account, "err", err)
		return err
	default:
		c.log.Error("command failed", "command", cmd.name, "account", c.account, "err", err)
		c.writeErr(&Error{Code: CodeSysTemp, Text: "internal error, try again later"})
		c.bw.Flush()
		return err
	}
}

// argError is the answer to a malformed argument.
func argError(cmd command, usage string) *Error {
	return &Error{Text: "syntax: " + cmd.name + " " + usage}
}

// abortError ends the session without an answer: the stream is in no state
// for one (a TLS handshake failed, a message broke off mid-transfer).
type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

func abort(err error) error { return &abortError{err} }
