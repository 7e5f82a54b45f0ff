package store

import (
	"sort"
	"strings"
	"time"
)

// System flag bits of msg.flags.
const (
	bitSeen     = 1 << 0
	bitAnswered = 1 << 1
	bitFlagged  = 1 << 2
	bitDeleted  = 1 << 3
	bitDraft    = 1 << 4
	allBits     = bitSeen | bitAnswered | bitFlagged | bitDeleted | bitDraft
)

var systemFlags = []struct {
	name string
	bit  uint32
}{
	{FlagSeen, bitSeen}, {FlagAnswered, bitAnswered}, {FlagFlagged, bitFlagged},
	{FlagDeleted, bitDeleted}, {FlagDraft, bitDraft},
}

// maxKeywords is how many distinct keywords one mailbox can hold (one bit
// each in msg.kw).
const maxKeywords = 64

// extent is one chunk record of a large message: the record's volume offset
// and its size on the volume (header and padding included).
type extent struct {
	off int64
	n   uint32
}

// blob is a message body, stored once and shared by copies. off/reclen is
// the record that holds it inline (reclen 0 for a chunked body, whose chunks
// are listed instead). off < 0 marks a body lost to damage.
type blob struct {
	off    int64
	reclen uint32
	size   uint32
	refs   int32
	mark   uint32 // checkpoint numbering scratch, owned by the checkpointer
	chunks []extent
}

// msg is one message in a mailbox: 40 bytes in the mailbox's slice.
type msg struct {
	uid    uint32
	flags  uint32 // system flag bits
	kw     uint64 // keyword bits, names in mailbox.keywords
	date   int64  // internal date, Unix seconds
	modseq uint64
	blob   *blob
}

type mailbox struct {
	id            uint32
	acct          *account
	name          string
	special       string
	uidValidity   uint32
	uidNext       uint32
	uidReserved   uint32 // next UID to hand out; >= uidNext (guarded by Store.resMu too)
	highestModSeq uint64
	recent        uint32   // \Recent mark: highest UID claimed as recent (durable)
	recentRes     uint32   // mark handed out; >= recent (guarded by Store.resMu too)
	keywords      []string // every keyword ever used here, in order of first use
	msgs          []msg    // ascending UID
	unseen        int
	deleted       int
	size          int64
}

type account struct {
	id        uint32
	name      string
	hash      string
	quota     int64
	disabled  bool
	usage     int64
	nmsgs     int
	mailboxes map[uint32]*mailbox
	byName    map[string]*mailbox
	subs      map[string]bool
}

// state is the in-memory index, guarded by Store.mu.
type state struct {
	accounts map[uint32]*account
	byName   map[string]*account
	aliases  map[string]uint32
	settings map[string][]byte
	domains  map[string]int // accounts per domain
	nextAcct uint32         // next account id to hand out
	nextMbox uint32         // next mailbox id to hand out
	maxUIDV  uint32         // highest UIDVALIDITY handed out (this run)
	blobs    int
}

func newState() *state {
	return &state{
		accounts: map[uint32]*account{},
		byName:   map[string]*account{},
		aliases:  map[string]uint32{},
		settings: map[string][]byte{},
		domains:  map[string]int{},
		nextAcct: 1,
		nextMbox: 1,
	}
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// find returns the index of uid in mb.msgs and whether it is there.
func (mb *mailbox) find(uid uint32) (int, bool) {
	i := sort.Search(len(mb.msgs), func(i int) bool { return mb.msgs[i].uid >= uid })
	return i, i < len(mb.msgs) && mb.msgs[i].uid == uid
}

// each calls f with the index of every message whose UID is in set (nil:
// all), ascending.
func (mb *mailbox) each(set UIDSet, f func(i int)) {
	if set == nil {
		for i := range mb.msgs {
			f(i)
		}
		return
	}
	for i := range mb.msgs {
		if set.Contains(mb.msgs[i].uid) {
			f(i)
		}
	}
}

func (mb *mailbox) status() Status {
	return Status{
		Messages:      len(mb.msgs),
		Unseen:        mb.unseen,
		Deleted:       mb.deleted,
		UIDNext:       mb.uidNext,
		UIDValidity:   mb.uidValidity,
		Size:          mb.size,
		HighestModSeq: mb.highestModSeq,
	}
}

// flagNames renders a message's flags.
func (mb *mailbox) flagNames(m *msg) []string {
	var out []string
	for _, f := range systemFlags {
		if m.flags&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	var kws []string
	for i, k := range mb.keywords {
		if m.kw&(1<<uint(i)) != 0 {
			kws = append(kws, k)
		}
	}
	sort.Strings(kws)
	return append(out, kws...)
}

func (mb *mailbox) message(m *msg) Message {
	size := int64(0)
	if m.blob != nil {
		size = int64(m.blob.size)
	}
	return Message{
		UID:          m.uid,
		Flags:        mb.flagNames(m),
		InternalDate: time.Unix(m.date, 0).UTC(),
		Size:         size,
		ModSeq:       m.modseq,
	}
}

// kwBits maps keyword names to bits, adding new names to the mailbox's
// table; names beyond maxKeywords are dropped (submit refuses them first).
func (mb *mailbox) kwBits(names []string) uint64 {
	var bits uint64
	for _, n := range names {
		i := -1
		for j, k := range mb.keywords {
			if strings.EqualFold(k, n) {
				i = j
				break
			}
		}
		if i < 0 {
			if len(mb.keywords) >= maxKeywords {
				continue
			}
			mb.keywords = append(mb.keywords, n)
			i = len(mb.keywords) - 1
		}
		bits |= 1 << uint(i)
	}
	return bits
}

// kwKnown maps keyword names to bits, ignoring names not in the table.
func (mb *mailbox) kwKnown(names []string) uint64 {
	var bits uint64
	for _, n := range names {
		for j, k := range mb.keywords {
			if strings.EqualFold(k, n) {
				bits |= 1 << uint(j)
				break
			}
		}
	}
	return bits
}

// newKeywords counts the names that are not yet in the table.
func (mb *mailbox) newKeywords(names []string) int {
	n := 0
	for _, name := range names {
		found := false
		for _, k := range mb.keywords {
			if strings.EqualFold(k, name) {
				found = true
				break
			}
		}
		if !found {
			n++
		}
	}
	return n
}

// splitFlags separates system flag bits from keywords. Unknown backslash
// flags (\Recent, \*) are dropped.
func splitFlags(flags []string) (bits uint32, kws []string) {
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			for _, sf := range systemFlags {
				if strings.EqualFold(sf.name, f) {
					bits |= sf.bit
				}
			}
			continue
		}
		if f != "" {
			kws = append(kws, f)
		}
	}
	return bits, kws
}
