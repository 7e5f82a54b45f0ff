// Package pop3 is postvault's POP3 server (RFC 1939), with CAPA (RFC 2449),
// STLS (RFC 2595), SASL PLAIN (RFC 5034), extended response codes (RFC 2449
// section 8, RFC 3206) and implicit TLS (RFC 8314).
//
// The server is written in the manner of go-imap v2's imapserver: this package
// defines the small interfaces it needs from the mail store (Backend and
// Maildrop, below), one file per protocol command (cmd_retr.go, ...), and
// typed protocol errors (*Error) that are sent to the client verbatim; any
// other error from the backend is logged and answered with a generic
// "-ERR [SYS/TEMP]".
//
// Concepts:
//
//   - A session is in one of the RFC 1939 states: AUTHORIZATION until a
//     login succeeds, then TRANSACTION, and UPDATE once the client says QUIT.
//   - The maildrop is the account's INBOX as it was at login: messages are
//     numbered 1..n at login and keep their numbers for the session; mail
//     that arrives later is seen at the next login (RFC 1939 section 8).
//   - DELE only marks; the marked messages are expunged from the store when
//     the client says QUIT (the UPDATE state), and are then gone for IMAP
//     too, since POP3 and IMAP share the INBOX. A connection that drops
//     without QUIT deletes nothing.
//   - The maildrop is locked exclusively: a second POP3 login to the same
//     account while one session holds it gets "-ERR [IN-USE]" (RFC 2449
//     section 8.1.1). The lock is per Server; IMAP sessions are not locked out.
//   - The unique-id listing (UIDL) of a message is derived from the INBOX's
//     UIDVALIDITY and the message's IMAP UID, in Dovecot's default format
//     (%08Xu%08Xv: UID then UIDVALIDITY, eight upper-case hex digits each), so
//     it is stable across restarts, names the same message as IMAP, and a
//     mailbox migrated from Dovecot keeps its ids if UIDs are kept.
//   - Messages are streamed from the store to the client, dot-stuffed
//     (RFC 1939 section 3) and with bare LF sent as CRLF; a message is never
//     held whole in memory.
//   - Plaintext authentication (USER/PASS, AUTH PLAIN) is allowed only over
//     TLS, from a loopback address, or when Options.AllowInsecureAuth is set;
//     otherwise CAPA does not offer it and the commands answer
//     "-ERR [AUTH] ...". Failed logins are counted per address and per
//     account (mail/limits) and each is logged.
//
// The one authentication function is the store's: Backend.Login calls it; the
// server never checks a password itself.
package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Backend is what the POP3 server needs from the mail store.
type Backend interface {
	// Login checks username and password with the store's authentication
	// and returns the account's maildrop (its INBOX). remote is the
	// client's address, for the store's log. Wrong credentials
	// return an error wrapping ErrAuthFailed (or an *Error); the server
	// answers both the same way, so that a client learns nothing about
	// which account exists.
	Login(ctx context.Context, username, password, remote string) (Maildrop, error)
}

// Maildrop is one account's INBOX, open for one POP3 session.
type Maildrop interface {
	// Account names the account, stably and uniquely: it keys the
	// exclusive maildrop lock and appears in logs.
	Account() string
	// List returns the INBOX's messages in ascending UID order, and the
	// INBOX's IMAP UIDVALIDITY at the same instant.
	List(ctx context.Context) (msgs []Message, uidValidity uint32, err error)
	// Open returns the raw message (RFC 5322 octets) with this UID, to be
	// read as a stream. A message expunged meanwhile (by IMAP) returns an
	// error wrapping ErrNoMessage.
	Open(ctx context.Context, uid uint32) (io.ReadCloser, error)
	// Expunge removes the messages with these UIDs from the INBOX; it
	// returns once the removal is durable. UIDs already gone are ignored.
	Expunge(ctx context.Context, uids []uint32) error
	// Close releases the maildrop; the server calls it exactly once.
	Close() error
}

// Message is one message of a maildrop.
type Message struct {
	UID  uint32 // IMAP UID in the INBOX
	Size int64  // size in octets, as stored (CRLF line ends)
}

// ErrAuthFailed is returned (wrapped) by Backend.Login for wrong credentials.
var ErrAuthFailed = errors.New("pop3: authentication failed")

// ErrNoMessage is returned (wrapped) by Maildrop.Open for a message that is gone.
var ErrNoMessage = errors.New("pop3: no such message")

// ErrInUse is returned (wrapped) by Backend.Login when the store itself
// holds the maildrop locked; the server answers "-ERR [IN-USE]".
var ErrInUse = errors.New("pop3: maildrop in use")

// Response codes (RFC 2449 section 8, RFC 3206).
const (
	CodeInUse      = "IN-USE"      // the maildrop is locked by another session
	CodeLoginDelay = "LOGIN-DELAY" // logins too frequent
	CodeAuth       = "AUTH"        // the credentials are wrong, or plaintext auth is refused
	CodeSysTemp    = "SYS/TEMP"    // a temporary system problem
	CodeSysPerm    = "SYS/PERM"    // a permanent system problem
)

// Error is a protocol error: the server sends it to the client verbatim as
// "-ERR [Code] Text" (or "-ERR Text" without a code). A Backend may return
// one to choose the client's answer.
type Error struct {
	Code string // an extended response code, or ""
	Text string // human-readable, one line
}

func (e *Error) Error() string {
	if e.Code == "" {
		return "pop3: " + e.Text
	}
	return fmt.Sprintf("pop3: [%s] %s", e.Code, e.Text)
}

// line is the response line without CRLF.
func (e *Error) line() string {
	if e.Code == "" {
		return "-ERR " + e.Text
	}
	return "-ERR [" + e.Code + "] " + e.Text
}

// UIDL returns the unique-id listing of the message with uid in a mailbox
// with uidValidity (see the package comment).
func UIDL(uidValidity, uid uint32) string {
	return fmt.Sprintf("%08X%08X", uid, uidValidity)
}
