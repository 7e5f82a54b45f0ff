package pop3

import (
	"errors"
	"strconv"
	"strings"
)

// command is one parsed command line (RFC 1939 section 3): a keyword of three
// or four printable ASCII letters, case-insensitive, and its arguments.
type command struct {
	name string // upper case
	// rest is everything after the keyword and one space, as sent: PASS takes
	// it whole (a password may hold spaces); others split it with fields.
	rest string
}

var (
	errEmptyCommand = errors.New("pop3: empty command")
	errBadKeyword   = errors.New("pop3: bad command keyword")
	errBadArgument  = errors.New("pop3: bad argument")
	errControlChar  = errors.New("pop3: control character in command")
)

// parseCommand parses one command line, without its CRLF.
func parseCommand(line string) (command, error) {
	if line == "" {
		return command{}, errEmptyCommand
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			return command{}, errControlChar
		}
	}
	name, rest, _ := strings.Cut(line, " ")
	if len(name) < 3 || len(name) > 4 {
		return command{}, errBadKeyword
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return command{}, errBadKeyword
		}
	}
	return command{name: strings.ToUpper(name), rest: rest}, nil
}

// fields splits the arguments at spaces (RFC 1939: one space between
// arguments; we accept runs of them, and a trailing space, as clients send).
func (c command) fields() []string {
	return strings.Fields(c.rest)
}

// parseMsgNumber parses a message-number argument: a decimal number from 1
// that names no message beyond max is checked by the caller.
func parseMsgNumber(s string) (int, error) {
	if s == "" || len(s) > 10 || s[0] == '+' || s[0] == '-' {
		return 0, errBadArgument
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil || n == 0 {
		return 0, errBadArgument
	}
	return int(n), nil
}

// parseLineCount parses TOP's line count: a decimal number from 0.
func parseLineCount(s string) (int64, error) {
	if s == "" || len(s) > 18 || s[0] == '+' || s[0] == '-' {
		return 0, errBadArgument
	}
	n, err := strconv.ParseInt(s, 10, 63)
	if err != nil {
		return 0, errBadArgument
	}
	return n, nil
}
