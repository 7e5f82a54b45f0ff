package smtp

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"net"
	"strings"

	gosmtp "github.com/emersion/go-smtp"
)

// session is one client's mail transaction state.
type session struct {
	s    *Server
	c    *gosmtp.Conn
	log  *slog.Logger
	from string
	size int64       // MAIL FROM SIZE=, 0 if not given
	rcpt []recipient // in RCPT order, duplicates included (LMTP answers each)
}

// recipient is one accepted RCPT.
type recipient struct {
	addr    string // as the client gave it (the key of LMTP's status)
	account string // the store account it resolved to
}

var (
	_ gosmtp.Session     = (*session)(nil)
	_ gosmtp.LMTPSession = (*session)(nil)
)

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{s: s, c: c, log: s.log.With("remote", c.Conn().RemoteAddr().String())}, nil
}

// Mail starts a transaction (RFC 5321 section 4.1.1.2).
func (ss *session) Mail(from string, opts *gosmtp.MailOptions) error {
	ss.Reset()
	ss.from = from
	if opts != nil {
		ss.size = opts.Size
	}
	return nil
}

// Rcpt accepts a recipient that the store hosts and whose account can take
// the message now (RFC 5321 section 4.1.1.3); see the package comment for
// the answers.
func (ss *session) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	if to == "" || strings.ContainsAny(to, " \t\r\n") {
		return errBadAddress
	}
	account, err := ss.s.be.ResolveRecipient(to)
	if err != nil {
		se := smtpError(err)
		ss.log.Info("recipient refused", "from", ss.from, "rcpt", to, "code", se.Code, "err", err)
		return se
	}
	if se := ss.checkAccount(account); se != nil {
		ss.log.Info("recipient refused", "from", ss.from, "rcpt", to, "account", account, "code", se.Code)
		return se
	}
	ss.rcpt = append(ss.rcpt, recipient{addr: to, account: account})
	return nil
}

// checkAccount refuses an account that is disabled or whose quota cannot
// take a message of the announced size.
func (ss *session) checkAccount(account string) *gosmtp.SMTPError {
	u, err := ss.s.be.User(account)
	if err != nil {
		return smtpError(err)
	}
	switch {
	case u.Disabled:
		return errDisabled
	case u.Quota > 0 && ss.size > u.Quota:
		return errQuotaNever
	case u.Quota > 0 && u.Usage+max(ss.size, 1) > u.Quota:
		return errQuotaFull
	}
	return nil
}

// Reset ends the transaction (RSET, a new MAIL, or after DATA).
func (ss *session) Reset() {
	ss.from, ss.size, ss.rcpt = "", 0, nil
}

// Logout ends the session.
func (ss *session) Logout() error { return nil }

// trace returns the trace fields for a copy to rcpt ("" for a shared copy).
func (ss *session) trace(rcpt, id string) string {
	t := traceInfo{
		from:     ss.from,
		rcpt:     rcpt,
		helo:     ss.c.Hostname(),
		hostname: ss.s.opts.Hostname,
		protocol: "ESMTP",
		id:       id,
		date:     ss.s.opts.Now(),
	}
	if ss.s.opts.LMTP {
		t.protocol = "LMTP"
	}
	if addr, ok := ss.c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		t.remoteIP = addr.IP.String()
	} else {
		t.remoteIP = "local"
	}
	if cs, ok := ss.c.TLSConnectionState(); ok {
		t.protocol += "S"
		t.tls = tlsVersion(cs.Version) + " with cipher " + tls.CipherSuiteName(cs.CipherSuite)
	}
	return traceHeader(t)
}

// newID returns a random message id for logs and Received fields.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// tlsVersion names a TLS version the way Received fields usually do.
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}
