// Package smtp is postvault's mail intake: SMTP on port 25 (RFC 5321) and
// LMTP (RFC 2033) for a front MTA, both on github.com/emersion/go-smtp's
// server, delivering into the mail store.
//
// What the intake promises (DESIGN.md, "Protocols"):
//
//   - Mail is accepted only for recipients the store hosts: an account, an
//     alias or a domain catch-all (store.ResolveRecipient). An unknown user of
//     a hosted domain is refused at RCPT with 550 5.1.1, a domain not hosted
//     here with 550 5.7.1 (no relaying), a disabled account with 550 5.2.1.
//   - The size limit is advertised (EHLO SIZE, RFC 1870), a MAIL FROM SIZE=
//     above it is refused, and a longer DATA is cut off with 552 5.3.4 and
//     stored nowhere; a message of exactly the limit is taken (go-smtp's
//     own reader refuses that one too; after STARTTLS, where its reader is
//     used, it still does). A recipient whose quota cannot take the message is
//     refused at RCPT (452 4.2.2 while it is full, 552 5.2.2 if the message
//     is larger than the whole quota).
//   - "250" is answered only once the message is durable in the store
//     (store.Deliver returns after the flush). While the store cannot take
//     writes (read-only, closed, I/O errors, volume full) the answer is 4xx,
//     never 5xx, so the sender keeps the message and retries.
//   - Each delivered copy starts with Return-Path, Delivered-To and a
//     Received field (RFC 5321 section 4.4; with the TLS version and cipher
//     when the session used TLS), then the message exactly as received.
//   - Messages are streamed: DATA goes straight into the store's append,
//     read from the connection in 32 KiB blocks rather than go-smtp's byte
//     at a time (dataconn.go), with dots unstuffed and the size limit
//     counted on the way. For
//     a second recipient the copy already stored is read back from the store
//     (Reopener) behind that recipient's own trace fields, so nothing is
//     held whole in memory or spooled outside the store.
//   - LMTP answers per recipient after DATA (RFC 2033 section 4.2). SMTP has
//     one answer for all; if some recipients got the message and others did
//     not, the answer is 451 so that the sender retries (a duplicate, never
//     a loss).
//
// The server needs only the small Backend interface below; *store.Store
// satisfies it as it is, and StoreBackend adds the optional Reopener.
package smtp

import (
	"context"
	"io"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// Backend is what the intake needs from the mail store. *store.Store
// satisfies it; errors are the store's sentinels (store.ErrNoSuchUser,
// store.ErrNotHosted, store.ErrDisabled, store.ErrQuota, ...).
type Backend interface {
	// ResolveRecipient maps an envelope address to the account that gets
	// its mail.
	ResolveRecipient(address string) (account string, err error)
	// User describes an account (quota, usage, disabled).
	User(name string) (store.User, error)
	// Deliver stores the message read from r for the recipients and returns
	// once it is durable, with one result per recipient.
	Deliver(ctx context.Context, to []store.Delivery, date time.Time, r io.Reader) ([]store.DeliveryResult, error)
}

// Reopener is a Backend that can read a delivered copy back. With it, a
// message for several recipients is delivered once per recipient, each copy
// with its own Delivered-To and Received "for" clause, the later copies read
// from the first. Without it, the message is delivered once for all
// recipients (one shared body), and the trace fields name no recipient when
// there are several, so that no recipient learns of another (Bcc).
type Reopener interface {
	Backend
	// OpenDelivered opens the message with uid in account's mailbox.
	OpenDelivered(account, mailbox string, uid uint32) (io.ReadSeekCloser, error)
}
