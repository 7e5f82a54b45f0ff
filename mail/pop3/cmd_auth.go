package pop3

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
)

// handleAuth answers AUTH (RFC 5034). PLAIN (RFC 4616) is the one mechanism,
// with or without an initial response; "*" cancels. A bare AUTH lists the
// mechanisms, as older clients (and Outlook) expect.
func (c *conn) handleAuth(cmd command) error {
	args := cmd.fields()
	if len(args) == 0 {
		if !c.insecureAuthAllowed() {
			return c.writeLine("+OK\r\n.") // no mechanism offered here
		}
		return c.writeLine("+OK\r\nPLAIN\r\n.")
	}
	if len(args) > 2 {
		return argError(cmd, "mechanism [initial-response]")
	}
	if !strings.EqualFold(args[0], "PLAIN") {
		return &Error{Text: "unsupported authentication mechanism " + args[0]}
	}
	if !c.insecureAuthAllowed() {
		return errAuthPlaintext
	}
	var resp string
	if len(args) == 2 {
		resp = args[1]
	} else {
		if err := c.writeLine("+ "); err != nil {
			return err
		}
		if err := c.bw.Flush(); err != nil {
			return err
		}
		line, err := c.readLine()
		if err == errLineTooLong {
			return &Error{Code: CodeAuth, Text: "authentication response too long"}
		}
		if err != nil {
			return abort(err)
		}
		resp = line
	}
	if resp == "*" {
		return &Error{Text: "authentication cancelled"}
	}
	_, user, pass, err := parsePlain(resp)
	if err != nil {
		return &Error{Code: CodeAuth, Text: strings.TrimPrefix(err.Error(), "pop3: ")}
	}
	return c.login(user, pass)
}

var (
	errPlainBase64 = errors.New("pop3: authentication response is not base64")
	errPlainForm   = errors.New("pop3: malformed PLAIN response")
	errPlainAuthz  = errors.New("pop3: authorization identity other than the user is not supported")
)

// parsePlain decodes a SASL PLAIN response (RFC 4616 section 2): base64 of
// [authzid] NUL authcid NUL passwd; "=" is the empty response (RFC 5034
// section 4). An authzid other than authcid is refused: no proxy logins.
func parsePlain(resp string) (authz, user, pass string, err error) {
	if resp == "=" {
		resp = ""
	}
	b, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", "", "", errPlainBase64
	}
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return "", "", "", errPlainForm
	}
	authz, user, pass = string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != user {
		return "", "", "", errPlainAuthz
	}
	return authz, user, pass, nil
}
