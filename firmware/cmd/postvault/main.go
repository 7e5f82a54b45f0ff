// Command postvault is the one binary of the postvault appliance: on the box
// it is the firmware (postvault serve), on an admin's PC it is the tool that
// creates, inspects and recovers arrays and stores (postvault raid, user,
// recover, ...). Each subcommand lives in a file of its own in this package and
// is a thin layer over a library package: parse flags, construct, run.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// stdio is what a subcommand reads from and writes to, so that tests can run
// subcommands in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(io stdio, args []string) error
}

// commands lists every subcommand. Each entry's run function sits in the file
// named after it.
func commands() map[string]command {
	return map[string]command{
		"raid":    {"create, inspect, repair and read parity arrays", raidMain},
		"user":    {"add, change, remove and list mail accounts", userMain},
		"alias":   {"add and remove address aliases", aliasMain},
		"deliver": {"deliver one message from standard input (local delivery agent)", deliverMain},
		"store":   {"check, show statistics of and compact the mail store", storeMain},
		"recover": {"export all mail from member disks as Maildir, read-only", recoverMain},
		"serve":   {"run the appliance: IMAP, POP3, SMTP, LMTP and the status page", serveMain},
		"disks":   {"list SATA disks with identity and health", disksMain},
		"smart":   {"show SMART data of a disk, start self-tests", smartMain},
		"bay":     {"set a bay's indicator pattern", bayMain},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: postvault COMMAND [ARGS]")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
}

// run dispatches args (without the program name) and returns the exit code.
func run(io stdio, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.err)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "postvault: unknown command %q\n", args[0])
		usage(io.err)
		return 2
	}
	if err := c.run(io, args[1:]); err != nil {
		if err == errUsage {
			return 2
		}
		// Errors of the package of the same name ("raid: ...", "store:
		// ...") already say where they come from.
		fmt.Fprintf(io.err, "postvault %s: %s\n", args[0], strings.TrimPrefix(err.Error(), args[0]+": "))
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func main() {
	os.Exit(run(stdio{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:]))
}
