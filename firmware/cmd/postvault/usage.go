package main

import "errors"

// errUsage is returned by a subcommand that has already printed its usage
// message; the exit code is 2 and nothing more is printed.
var errUsage = errors.New("usage")

// errNotYet is returned by subcommands whose capability has not landed yet.
var errNotYet = errors.New("this command is not part of this build yet")
