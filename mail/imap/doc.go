// Package imap is postvault's IMAP server: IMAP4rev1 (RFC 3501) and
// IMAP4rev2 (RFC 9051) over github.com/emersion/go-imap/v2's imapserver,
// backed by mail/store.
//
// The library parses commands and writes responses; this package is its
// Session. One session per connection holds the account (after LOGIN or
// AUTHENTICATE, both checked by store.Authenticate, rate-limited by
// mail/limits) and the selected mailbox's view: the UIDs the client knows,
// in sequence-number order. Each session watches its selected mailbox
// through the store (Account.Watch); whatever changes it, SMTP delivery,
// POP3, the web UI or another IMAP session, arrives as events that Poll
// and Idle turn into EXISTS, EXPUNGE, FETCH FLAGS and FLAGS responses when
// RFC 9051 section 7.5.1 allows them.
//
// \Recent, for IMAP4rev1 clients, comes from the store's durable per-mailbox
// mark (recent.go): SELECT and new mail in a selected mailbox claim, EXAMINE
// and STATUS only look, so it survives restarts. FLAGS and PERMANENTFLAGS
// list the mailbox's keywords as the store keeps them, including those no
// message carries any more.
//
// Messages are streamed from the store: FETCH scans a message's MIME
// structure once (mime.go) into byte ranges and copies the requested range
// to the client, BINARY decodes on the fly, SEARCH decodes text parts and
// charsets on the fly, and APPEND hands the literal to the store as it
// arrives. Memory does not grow with message size.
//
// Extensions: IDLE (RFC 2177), MOVE (6851), UIDPLUS (4315), NAMESPACE
// (2342), SPECIAL-USE and CREATE-SPECIAL-USE (6154), LIST-EXTENDED (5258),
// LIST-STATUS (5819), ESEARCH (4731), SEARCHRES (5182), LITERAL+ (7888),
// UTF8=ACCEPT (6855), UNSELECT (3691), APPENDLIMIT (7889), BINARY (3516),
// STATUS=SIZE (8438), CHILDREN (3348), SASL-IR (4959), UNAUTHENTICATE
// (8437), ENABLE (5161). mail/rfc/index.txt lists the status of each.
//
// Connections: Server.Serve accepts, applies the per-address connection
// limit, and wraps each connection in a guard that limits what a client may
// send before it logs in (lines, bytes, time). Plaintext LOGIN is allowed on
// TLS connections (implicit TLS: the caller wraps the listener), after
// STARTTLS, from loopback, or everywhere with Options.AllowPlaintextAuth.
//
// What the library (v2.0.0-beta.8) does not let us do right is listed in
// mail/imap/LIMITATIONS.md.
package imap
