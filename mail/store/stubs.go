package store

import (
	"context"
	"errors"
	"io"
	"time"
)

var errNotYet = errors.New("store: not implemented yet")

// Store is an open mail store. All methods are safe for concurrent use.
type Store struct{}

// Account is a handle on one account, returned by Authenticate and Account.
// It stays valid until the account is deleted; then its methods return
// ErrNoSuchUser.
type Account struct{}

// Watcher receives the changes of one mailbox (or every mailbox of an
// account). Events queue without bound until drained; C is signalled when
// some are waiting.
type Watcher struct{}

// Body is an open message body: an io.ReaderAt and io.ReadSeeker over the
// message's bytes, streamed from the volume and verified by checksum.
type Body struct{}

// Create formats v as an empty store, destroying whatever it held.
func Create(v Volume, opts *CreateOptions) error { return errNotYet }

// Open opens the store on v: it reads the newest checkpoint, replays the log
// after it and starts the background checkpointer. Damage found on the way is
// logged and listed by Problems; it does not stop Open. The store owns v from
// then on and Close closes it.
func Open(v Volume, opts *Options) (*Store, error) { return nil, errNotYet }

// Close writes a checkpoint (unless read-only), stops background work and
// closes the volume.
func (s *Store) Close() error { return errNotYet }

// Problems lists the damage found at open and since.
func (s *Store) Problems() []Problem { return nil }

// Stats returns current figures.
func (s *Store) Stats() Stats { return Stats{} }

// Checkpoint writes a checkpoint now.
func (s *Store) Checkpoint(ctx context.Context) error { return errNotYet }

// Compact reclaims the space of expunged mail: it moves the live records out
// of mostly dead segments, writes a checkpoint and discards the freed
// segments. Readers are never blocked.
func (s *Store) Compact(ctx context.Context) (CompactStats, error) { return CompactStats{}, errNotYet }

// Check reads every message of every account and verifies its checksums,
// returning the problems found.
func (s *Store) Check(ctx context.Context) ([]Problem, error) { return nil, errNotYet }

// AddUser creates the account name (an address; its domain becomes hosted)
// with INBOX and the special-use mailboxes Sent, Trash, Drafts, Junk,
// Archive.
func (s *Store) AddUser(ctx context.Context, name, password string) error { return errNotYet }

// SetPassword replaces an account's password.
func (s *Store) SetPassword(ctx context.Context, name, password string) error { return errNotYet }

// DelUser deletes an account, its aliases and all its mail.
func (s *Store) DelUser(ctx context.Context, name string) error { return errNotYet }

// SetQuota sets an account's quota in bytes; 0 means no limit.
func (s *Store) SetQuota(ctx context.Context, name string, bytes int64) error { return errNotYet }

// SetDisabled disables or enables an account: a disabled account cannot log
// in and takes no deliveries, its mail is kept.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return errNotYet
}

// Users lists the accounts sorted by name.
func (s *Store) Users() []User { return nil }

// User returns one account's description.
func (s *Store) User(name string) (User, error) { return User{}, errNotYet }

// AddAlias makes address deliver to account. "@domain" is a catch-all.
func (s *Store) AddAlias(ctx context.Context, address, account string) error { return errNotYet }

// DelAlias removes an alias.
func (s *Store) DelAlias(ctx context.Context, address string) error { return errNotYet }

// Aliases lists the aliases sorted by address.
func (s *Store) Aliases() []Alias { return nil }

// ResolveRecipient maps an address to the account that receives its mail:
// an account of that name, else an alias, else the domain's catch-all.
// It returns ErrNotHosted for a domain no account is in, ErrNoSuchUser for an
// unknown address of a hosted domain.
func (s *Store) ResolveRecipient(address string) (account string, err error) {
	return "", errNotYet
}

// Hosted reports whether domain is one of the store's domains.
func (s *Store) Hosted(domain string) bool { return false }

// Authenticate is the one password check of every protocol and the web UI.
// On failure it logs why (unknown user, wrong password, disabled) with
// remote, and returns ErrAuthFailed and nothing else.
func (s *Store) Authenticate(ctx context.Context, user, password, remote string) (*Account, error) {
	return nil, errNotYet
}

// Account returns a handle on an account without a password (local delivery,
// administration).
func (s *Store) Account(name string) (*Account, error) { return nil, errNotYet }

// Deliver stores one message, read from r, for every recipient: the body is
// written once and shared. It returns when the message is durable, with one
// result per delivery; err is for failures of the whole delivery (I/O,
// nobody could take it).
func (s *Store) Deliver(ctx context.Context, to []Delivery, date time.Time, r io.Reader) ([]DeliveryResult, error) {
	return nil, errNotYet
}

// Setting returns the value of a setting of the box.
func (s *Store) Setting(key string) ([]byte, bool) { return nil, false }

// SetSetting stores a setting durably; a nil value deletes it. Values are at
// most 1 MiB.
func (s *Store) SetSetting(ctx context.Context, key string, value []byte) error { return errNotYet }

// SettingKeys lists the keys that begin with prefix, sorted.
func (s *Store) SettingKeys(prefix string) []string { return nil }

// Name is the account's address.
func (a *Account) Name() string { return "" }

// Mailboxes lists the account's mailboxes sorted by name.
func (a *Account) Mailboxes() ([]MailboxInfo, error) { return nil, errNotYet }

// CreateMailbox creates a mailbox, and its missing parents. specialUse is ""
// or one of the Special constants.
func (a *Account) CreateMailbox(ctx context.Context, name, specialUse string) error {
	return errNotYet
}

// DeleteMailbox deletes a mailbox and its messages. Its children stay. INBOX
// cannot be deleted.
func (a *Account) DeleteMailbox(ctx context.Context, name string) error { return errNotYet }

// RenameMailbox renames a mailbox and all its children. Renaming INBOX moves
// its messages into a new mailbox and leaves INBOX empty (RFC 9051 6.3.6).
func (a *Account) RenameMailbox(ctx context.Context, oldName, newName string) error {
	return errNotYet
}

// Subscribe adds a name to the subscriptions (it need not exist).
func (a *Account) Subscribe(ctx context.Context, name string) error { return errNotYet }

// Unsubscribe removes a name from the subscriptions.
func (a *Account) Unsubscribe(ctx context.Context, name string) error { return errNotYet }

// Subscriptions lists the subscribed names, sorted.
func (a *Account) Subscriptions() ([]string, error) { return nil, errNotYet }

// Status returns a mailbox's status.
func (a *Account) Status(mailbox string) (Status, error) { return Status{}, errNotYet }

// Append stores a message read from r (streamed, never held whole) into a
// mailbox and returns its UID once durable. A zero date means now.
func (a *Account) Append(ctx context.Context, mailbox string, flags []string, date time.Time, r io.Reader) (uid, uidValidity uint32, err error) {
	return 0, 0, errNotYet
}

// Messages lists the messages of a mailbox whose UIDs are in uids (nil: all),
// in UID order, with the mailbox's status at the same instant.
func (a *Account) Messages(mailbox string, uids UIDSet) ([]Message, Status, error) {
	return nil, Status{}, errNotYet
}

// Open opens one message's body for reading. Close it when done.
func (a *Account) Open(mailbox string, uid uint32) (*Body, error) { return nil, errNotYet }

// SetFlags changes the flags of the messages in uids. With unchangedSince > 0
// (CONDSTORE), messages whose modseq is higher are left alone and returned in
// failed. It returns the changed messages with their new flags and modseq.
func (a *Account) SetFlags(ctx context.Context, mailbox string, uids UIDSet, op FlagOp, flags []string, unchangedSince uint64) (changed []Message, failed []uint32, err error) {
	return nil, nil, errNotYet
}

// Copy copies messages to another mailbox (sharing their bodies).
func (a *Account) Copy(ctx context.Context, mailbox string, uids UIDSet, dest string) (CopyResult, error) {
	return CopyResult{}, errNotYet
}

// Move moves messages to another mailbox atomically.
func (a *Account) Move(ctx context.Context, mailbox string, uids UIDSet, dest string) (CopyResult, error) {
	return CopyResult{}, errNotYet
}

// Expunge removes exactly the messages in uids (POP3 DELE + QUIT) and returns
// the UIDs removed.
func (a *Account) Expunge(ctx context.Context, mailbox string, uids UIDSet) ([]uint32, error) {
	return nil, errNotYet
}

// ExpungeDeleted removes the messages in uids (nil: all) that have \Deleted
// (IMAP EXPUNGE, UID EXPUNGE) and returns the UIDs removed.
func (a *Account) ExpungeDeleted(ctx context.Context, mailbox string, uids UIDSet) ([]uint32, error) {
	return nil, errNotYet
}

// Watch starts watching a mailbox ("" watches every mailbox of the account).
func (a *Account) Watch(mailbox string) *Watcher { return &Watcher{} }

// C is signalled (without blocking the store) when events are waiting.
func (w *Watcher) C() <-chan struct{} { return nil }

// Events returns and removes the waiting events, oldest first.
func (w *Watcher) Events() []Event { return nil }

// Close stops the watcher.
func (w *Watcher) Close() {}

// ReadAt implements io.ReaderAt.
func (b *Body) ReadAt(p []byte, off int64) (int, error) { return 0, errNotYet }

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) { return 0, errNotYet }

// Seek implements io.Seeker.
func (b *Body) Seek(off int64, whence int) (int64, error) { return 0, errNotYet }

// Size is the message size in bytes.
func (b *Body) Size() int64 { return 0 }

// Close releases the body.
func (b *Body) Close() error { return nil }
