package main

import "errors"

// errUsage is returned by a subcommand that has already printed its usage
// message; the exit code is 2 and nothing more is printed.
var errUsage = errors.New("usage")

// errNotYet is returned by subcommands whose capability has not landed yet.
var errNotYet = errors.New("this command is not part of this build yet")

// exitError carries an exit code of its own (sysexits.h values for the
// local delivery agent, which Postfix reads: 67 unknown user, 75 try later).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit codes from sysexits.h.
const (
	exNoUser   = 67 // EX_NOUSER: the address is not ours; bounce
	exTempFail = 75 // EX_TEMPFAIL: try again later; nothing was stored
)
