package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// teeFlag makes the init binary run a program with its output copied to
// the console (see the package comment).
const teeFlag = "-tee-console"

// tee runs args[0] with args[1:], its stdout and stderr written both to
// ours (gokrazy's log) and to /dev/console, forwards SIGTERM and SIGINT to
// it, and returns its exit status (125, gokrazy's "do not restart", if it
// cannot be started at all).
func tee(args []string) int {
	con, err := os.OpenFile("/dev/console", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postvault: tee: %v\n", err)
		con = nil
	}
	out, errw := io.Writer(os.Stdout), io.Writer(os.Stderr)
	if con != nil {
		out, errw = io.MultiWriter(os.Stdout, con), io.MultiWriter(os.Stderr, con)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = out, errw
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(errw, "postvault: %v\n", err)
		return 125
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for s := range sig {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		fmt.Fprintf(errw, "postvault: %s exited: %v\n", args[0], err)
		if ee.ExitCode() < 0 {
			return 1
		}
		return ee.ExitCode()
	default:
		fmt.Fprintf(errw, "postvault: %s: %v\n", args[0], err)
		return 1
	}
}
