package store

import (
	"errors"
	"log/slog"
	"time"
)

// Volume is the block device the store is written onto: the RAID array in
// the appliance (drivers/raid's *Array satisfies it), a file or memory in
// tests (storetest). Offsets are bytes from the start of the volume.
type Volume interface {
	ReadAt(p []byte, off int64) (n int, err error)
	// WriteAt completes a write; it is durable only after Flush.
	WriteAt(p []byte, off int64) (n int, err error)
	// Flush makes every completed write durable (with its parity).
	Flush() error
	// Size is the number of usable bytes.
	Size() int64
	Close() error
}

// Geometry is implemented by volumes that know their stripe layout. The store
// aligns its segments to StripeSize and writes whole stripes where it can.
// Without it the store assumes 64 KiB stripes.
type Geometry interface {
	Volume
	StripeSize() int64 // data bytes in one full stripe
	ChunkSize() int64
}

// Discarder is implemented by volumes that can be told a range holds nothing
// of value (rebuild and scrub skip it). Without it freed space is simply
// reused later.
type Discarder interface {
	Volume
	Discard(off, length int64) error
}

// UseMap is implemented by volumes that know which ranges have held data
// since they were last discarded (the RAID's used map). Searching for the
// log without superblocks (HasLog, salvage) skips ranges not in use, so a
// large blank array is not read through at every stripe.
type UseMap interface {
	InUse(off, length int64) bool
}

// Repairer is implemented by volumes with redundancy. When a record fails its
// checksum the store calls Repair on its range and reads it again before
// reporting it lost. Without it a bad record is reported at once.
type Repairer interface {
	Volume
	Repair(off, length int64) error
}

// Options configure Open. The zero value is a read-write store with a
// checkpoint every 5 minutes, logging to slog.Default.
type Options struct {
	// ReadOnly opens the store without ever writing to the volume (recovery,
	// `postvault store check`). Every changing call returns ErrReadOnly.
	ReadOnly bool
	// Salvage lets Open go on when neither superblock or neither one's
	// checkpoint can be read: it finds the store's segments and the
	// checkpoints in them and opens from the newest one that reads
	// (salvage.go), reporting a Problem that says so. Read-only, nothing is
	// written (`postvault recover`); read-write (`postvault store repair`),
	// Open refuses unless replay reached the newest segment, and then
	// writes a checkpoint and a superblock before it returns.
	Salvage bool
	// Logger receives authentication failures, corruption reports and
	// compaction progress. Nil means slog.Default().
	Logger *slog.Logger
	// CheckpointInterval is the time between periodic checkpoints. Zero means
	// 5 minutes; negative disables periodic checkpoints (Close still writes
	// one).
	CheckpointInterval time.Duration
	// CheckpointBytes triggers a checkpoint once this many bytes of metadata
	// records have been logged since the last one. Zero means 64 MiB.
	CheckpointBytes int64
	// CompactWhenFree starts a background compaction when fewer than this
	// share of the segments are free. Zero means 0.25; negative never
	// compacts in the background (Compact still works).
	CompactWhenFree float64
	// Password sets the argon2id cost of new password hashes. Zero means
	// time 1, 64 MiB, 2 threads (the RFC 9106 second recommendation scaled
	// to the appliance). Existing hashes keep the cost they were made with.
	Password PasswordCost
	// PasswordChecks is how many argon2id verifications Authenticate runs at
	// once; further logins wait for a slot in the order they arrived, or
	// until their context ends. Each check holds the hash's memory (64 MiB
	// at the default cost), so this bounds the memory a burst of logins
	// takes. Zero or negative means GOMAXPROCS at the first login.
	PasswordChecks int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// overlapFrom replaces the package's overlapFrom when positive (tests
	// that need batches written beside one in flight with small messages).
	overlapFrom int
}

// PasswordCost are argon2id parameters.
type PasswordCost struct {
	Time    uint32
	MemoryK uint32 // KiB
	Threads uint8
}

// CreateOptions configure Create. The zero value picks the segment size
// by the volume's (defaultSegmentSize), rounded up to whole stripes.
type CreateOptions struct {
	// SegmentSize is the size of one log segment in bytes; it is rounded up
	// to a multiple of the stripe size. Zero means 32 MiB on a volume that
	// holds at least 64 of them, else 8 MiB. Minimum 1 MiB.
	SegmentSize int64
}

// defaultSegmentSize is the segment size for a volume of n bytes: 32 MiB,
// so that a segment holds several of the writer's largest batches (8 MiB)
// and the writer can write one while the one before it is flushed (only
// within a segment: writer.go), unless the volume is small (under 2 GiB),
// where 8 MiB segments keep the compaction reserve a small share of it.
// BENCHMARKS.md "Mail delivery vs Dovecot" measures 32 MiB against 8.
func defaultSegmentSize(n int64) int64 {
	if n >= 64*(32<<20) {
		return 32 << 20
	}
	return 8 << 20
}

// User describes an account for administration.
type User struct {
	Name     string // the address, lower case: alice@example.org
	Disabled bool
	Quota    int64 // bytes; 0 means no limit
	Usage    int64 // exact sum of the sizes of the account's messages
	Messages int
}

// Alias maps an address to an account.
type Alias struct {
	Address string // lower case; "@example.org" is a catch-all for the domain
	Account string
}

// MailboxInfo is one entry of Account.Mailboxes.
type MailboxInfo struct {
	Name        string // UTF-8, hierarchy separator "/", "INBOX" for the inbox
	SpecialUse  string // `\Sent`, `\Trash`, `\Drafts`, `\Junk`, `\Archive` or ""
	Subscribed  bool
	HasChildren bool
}

// Status is the state of one mailbox (IMAP STATUS / SELECT, POP3 STAT).
type Status struct {
	Messages      int
	Unseen        int
	Deleted       int
	UIDNext       uint32
	UIDValidity   uint32
	Size          int64  // sum of message sizes
	HighestModSeq uint64 // the highest modseq of any change in the mailbox
}

// System flags, as IMAP spells them. Any other flag string is a keyword.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// Special-use attributes (RFC 6154) of the mailboxes every new account gets.
const (
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
	SpecialDrafts  = `\Drafts`
	SpecialJunk    = `\Junk`
	SpecialArchive = `\Archive`
)

// Message is the metadata of one message in a mailbox.
type Message struct {
	UID          uint32
	Flags        []string // system flags first in the order above, then keywords sorted
	InternalDate time.Time
	Size         int64
	ModSeq       uint64
}

// UIDRange is an inclusive range of UIDs. Stop 0 means "no upper bound"
// (IMAP's "*"); Start 0 is treated as 1.
type UIDRange struct{ Start, Stop uint32 }

// UIDSet is a union of ranges. A nil UIDSet means every message where a
// method documents so.
type UIDSet []UIDRange

// Contains reports whether uid is in the set.
func (s UIDSet) Contains(uid uint32) bool {
	for _, r := range s {
		if uid >= r.Start && (r.Stop == 0 || uid <= r.Stop) {
			return true
		}
	}
	return false
}

// FlagOp is how SetFlags combines the given flags with a message's flags.
type FlagOp int

const (
	FlagsAdd     FlagOp = iota // STORE +FLAGS
	FlagsRemove                // STORE -FLAGS
	FlagsReplace               // STORE FLAGS
)

// CopyResult tells which new UIDs the copied or moved messages got (COPYUID,
// RFC 4315). SrcUIDs[i] became DstUIDs[i].
type CopyResult struct {
	UIDValidity uint32
	SrcUIDs     []uint32
	DstUIDs     []uint32
}

// Delivery is one recipient of Store.Deliver.
type Delivery struct {
	Recipient string   // an address; aliases are resolved
	Mailbox   string   // "" or a mailbox that does not exist means INBOX
	Flags     []string // usually none
}

// DeliveryResult says where one recipient's copy went. Err is ErrNoSuchUser,
// ErrNotHosted, ErrQuota or ErrDisabled for a recipient that could not take
// the message; the others still got it.
type DeliveryResult struct {
	Account     string
	Mailbox     string
	UID         uint32
	UIDValidity uint32
	Err         error
}

// EventKind says what changed.
type EventKind int

const (
	EventNew            EventKind = iota + 1 // a message arrived (Append, Deliver, Copy, Move)
	EventExpunge                             // messages were expunged (Expunge, Move)
	EventFlags                               // a message's flags changed
	EventMailboxCreated                      // Mailbox is new
	EventMailboxDeleted                      // Mailbox is gone
	EventMailboxRenamed                      // Mailbox was renamed to NewName
)

// Event is one change published to watchers once it is durable.
type Event struct {
	Kind    EventKind
	Mailbox string
	NewName string   // EventMailboxRenamed
	UIDs    []uint32 // EventExpunge: the expunged UIDs, ascending
	// Message is the new or changed message (EventNew, EventFlags).
	Message Message
	ModSeq  uint64 // the modseq of the change; mailbox HIGHESTMODSEQ after it
	Status  Status // the mailbox's status right after the change

	acct uint32
}

// Problem is damage found in the store: a record whose checksum fails and
// that the volume could not repair, or a message whose body cannot be read.
type Problem struct {
	Offset  int64  // volume offset of the damaged record
	Seq     uint64 // its sequence number, when known
	Account string // what it affects, when known
	Mailbox string
	UID     uint32
	Detail  string
}

// Stats are figures for `postvault store stats` and the status page.
type Stats struct {
	VolumeBytes    int64
	SegmentSize    int64
	Segments       int
	FreeSegments   int
	LiveBytes      int64 // bytes of records still referenced
	LogBytes       int64 // bytes in segments in use
	Accounts       int
	Mailboxes      int
	Messages       int
	Blobs          int
	NextSeq        uint64
	CheckpointSeq  uint64 // sequence covered by the newest checkpoint
	OpenReplayed   int    // records replayed after the checkpoint at open
	OpenDuration   time.Duration
	Problems       int
	LastCompaction time.Time
	CompactedBytes int64
	DiscardedBytes int64
	GroupCommits   uint64 // flushes
	RecordsWritten uint64
}

// CompactStats reports one compaction pass.
type CompactStats struct {
	SegmentsFreed int
	BytesMoved    int64
	BytesFreed    int64
}

// Errors callers branch on. Every other error is an I/O or corruption error
// that a protocol should answer as a temporary failure.
var (
	ErrAuthFailed      = errors.New("store: authentication failed") // the one error clients see
	ErrNoSuchUser      = errors.New("store: no such user")
	ErrUserExists      = errors.New("store: user exists")
	ErrDisabled        = errors.New("store: account disabled")
	ErrNotHosted       = errors.New("store: domain not hosted here")
	ErrAliasExists     = errors.New("store: alias exists")
	ErrNoSuchAlias     = errors.New("store: no such alias")
	ErrNoSuchMailbox   = errors.New("store: no such mailbox")
	ErrMailboxExists   = errors.New("store: mailbox exists")
	ErrNoSuchMessage   = errors.New("store: no such message")
	ErrBadName         = errors.New("store: bad name")
	ErrQuota           = errors.New("store: over quota")
	ErrTooManyKeywords = errors.New("store: too many keywords in mailbox")
	ErrReadOnly        = errors.New("store: opened read-only")
	ErrClosed          = errors.New("store: closed")
	ErrFull            = errors.New("store: volume full")
	ErrNotFormatted    = errors.New("store: volume holds no store")
	ErrCorrupt         = errors.New("store: corrupt")
)
