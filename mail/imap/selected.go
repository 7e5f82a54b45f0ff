package imap

import (
	"slices"
	"sort"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/store"
)

// selected is one session's view of its selected mailbox: the messages the
// client knows of, in sequence-number order (RFC 9051 section 2.3.1.2).
//
// The library's MailboxTracker models a mailbox whose every change passes
// through it. Ours change under us from SMTP, POP3, the web UI and other
// sessions, and the store already publishes each durable change, in order,
// to every Watcher; so each session's watcher is its queue of pending
// updates (the role of the library's SessionTracker), and Poll turns the
// queue into EXISTS, EXPUNGE, FETCH FLAGS and FLAGS responses at the moments
// RFC 9051 section 7.5.1 allows (no EXPUNGE during FETCH, STORE, SEARCH).
type selected struct {
	srv      *Server
	conn     *imapserver.Conn
	acct     *store.Account
	name     string // UTF-8, as the store spells it
	readOnly bool
	w        *store.Watcher

	mu       sync.Mutex          // guards the fields below; Idle runs in its own goroutine
	uids     []uint32            // ascending: uids[i] has sequence number i+1
	modseq   []uint64            // modseq[i] is the newest change of uids[i] the client was told of
	maxUID   uint32              // highest UID ever in the view; older NEW events are stale
	recent   map[uint32]struct{} // \Recent for this session
	fresh    []uint32            // new UIDs not yet claimed for \Recent, ascending
	keywords map[string]struct{} // keywords announced in FLAGS
	pending  []store.Event       // taken from w, not yet applied
	exists   bool                // an EXISTS is due
	flagsDue bool                // a FLAGS is due (new keyword)
	rev2     bool                // the client enabled IMAP4rev2: no \Recent (RFC 9051 appendix E)
}

// begin starts a command or poll: v.mu must be held. It notes whether
// the client has enabled IMAP4rev2 since the last one.
func (v *selected) begin() {
	if v.conn != nil && !v.rev2 {
		v.rev2 = v.conn.EnabledCaps().Has(imap.CapIMAP4rev2)
	}
}

// systemFlags are the flags every mailbox has (RFC 9051 section 2.3.2).
var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}

// flagRecent is \Recent, which only IMAP4rev1 knows.
const flagRecent = imap.Flag(`\Recent`)

func (v *selected) close() {
	v.w.Close()
}

// index returns the position of uid in the view, or -1.
func (v *selected) index(uid uint32) int {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return -1
	}
	return i
}

// mailboxFlags is the FLAGS list: system flags and every keyword in use.
func (v *selected) mailboxFlags() []imap.Flag {
	l := slices.Clone(systemFlags)
	kw := make([]string, 0, len(v.keywords))
	for k := range v.keywords {
		kw = append(kw, k)
	}
	sort.Strings(kw)
	for _, k := range kw {
		l = append(l, imap.Flag(k))
	}
	return l
}

// learn notes the keywords among flags and reports whether one is new.
func (v *selected) learn(flags []string) bool {
	n := false
	for _, f := range flags {
		if len(f) > 0 && f[0] == '\\' {
			continue
		}
		if _, ok := v.keywords[f]; !ok {
			v.keywords[f] = struct{}{}
			n = true
		}
	}
	return n
}

// imapFlags converts store flags for the client, adding \Recent for an
// IMAP4rev1 client.
func (v *selected) imapFlags(uid uint32, flags []string) []imap.Flag {
	l := make([]imap.Flag, 0, len(flags)+1)
	for _, f := range flags {
		l = append(l, imap.Flag(f))
	}
	if _, ok := v.recent[uid]; ok && !v.rev2 {
		l = append(l, flagRecent)
	}
	return l
}

// add appends a new message to the view. v.mu must be held.
func (v *selected) add(m store.Message) {
	if m.UID <= v.maxUID {
		return // already known, or expunged since
	}
	v.uids = append(v.uids, m.UID)
	v.modseq = append(v.modseq, m.ModSeq)
	v.maxUID = m.UID
	if v.learn(m.Flags) {
		v.flagsDue = true
	}
	v.fresh = append(v.fresh, m.UID) // claimed before EXISTS is written
	v.exists = true
}

// remove drops the UIDs from the view, calling expunge with each one's
// sequence number at the time it goes, so that the numbers are right for a
// client applying the EXPUNGE responses in order. v.mu must be held. It
// costs one pass over the view however many messages go.
func (v *selected) remove(uids []uint32, expunge func(seq uint32) error) error {
	uids = slices.Clone(uids)
	slices.Sort(uids)
	gone := make(map[int]bool, len(uids))
	var err error
	for _, uid := range uids {
		i := v.index(uid)
		if i < 0 || gone[i] {
			continue
		}
		// Ascending: every message already gone was before this one.
		seq := uint32(i-len(gone)) + 1
		gone[i] = true
		delete(v.recent, uid)
		if err = expunge(seq); err != nil {
			break
		}
	}
	if len(gone) == 0 {
		return err
	}
	j := 0
	for i := range v.uids {
		if !gone[i] {
			v.uids[j], v.modseq[j] = v.uids[i], v.modseq[i]
			j++
		}
	}
	v.uids, v.modseq = v.uids[:j], v.modseq[:j]
	return err
}

// inView reports whether any of uids is in the view. v.mu must be held.
func (v *selected) inView(uids []uint32) bool {
	for _, uid := range uids {
		if v.index(uid) >= 0 {
			return true
		}
	}
	return false
}

// take moves the watcher's waiting events to pending. v.mu must be held.
func (v *selected) take() {
	v.pending = append(v.pending, v.w.Events()...)
}

// poll applies pending changes and writes them (RFC 9051 section 5.2,
// 7.5.1). Without allowExpunge it stops before the first expunge of a
// message the client knows, leaving it and what follows for later.
func (v *selected) poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.begin()
	v.take()
	i := 0
	for ; i < len(v.pending); i++ {
		ev := v.pending[i]
		switch ev.Kind {
		case store.EventNew:
			v.add(ev.Message)
		case store.EventExpunge:
			if !v.inView(ev.UIDs) {
				continue
			}
			if !allowExpunge {
				v.pending = v.pending[i:]
				return v.flushExists(w)
			}
			if err := v.flushExists(w); err != nil {
				return err
			}
			if err := v.remove(ev.UIDs, w.WriteExpunge); err != nil {
				return err
			}
		case store.EventFlags:
			if err := v.flagsChanged(w, ev); err != nil {
				return err
			}
		case store.EventMailboxRenamed:
			if ev.Mailbox == v.name {
				v.name = ev.NewName // the store keeps watching it
			}
		}
	}
	v.pending = v.pending[:0]
	return v.flushExists(w)
}

// flagsChanged writes a FETCH FLAGS for a change the client has not seen.
func (v *selected) flagsChanged(w *imapserver.UpdateWriter, ev store.Event) error {
	idx := v.index(ev.Message.UID)
	if idx < 0 || ev.Message.ModSeq <= v.modseq[idx] {
		return nil // gone, or already reported (our own STORE)
	}
	v.modseq[idx] = ev.Message.ModSeq
	if v.learn(ev.Message.Flags) {
		v.flagsDue = true
	}
	if err := v.flushExists(w); err != nil {
		return err
	}
	return w.WriteMessageFlags(uint32(idx)+1, imap.UID(ev.Message.UID), v.imapFlags(ev.Message.UID, ev.Message.Flags))
}

// flushExists writes the FLAGS, EXISTS and RECENT responses that are due.
func (v *selected) flushExists(w *imapserver.UpdateWriter) error {
	if v.flagsDue {
		v.flagsDue = false
		if err := w.WriteMailboxFlags(v.mailboxFlags()); err != nil {
			return err
		}
	}
	if !v.exists {
		return nil
	}
	v.exists = false
	v.claimFresh()
	if err := w.WriteNumMessages(uint32(len(v.uids))); err != nil {
		return err
	}
	return w.WriteNumRecent(uint32(len(v.recent)))
}

// expect makes sure messages this session just added to its own mailbox
// (APPEND, COPY, MOVE to itself) are announced by the next poll even if the
// store's event for them has not been queued yet; the event, when it comes,
// is then stale and skipped.
func (v *selected) expect(msgs []store.Message) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.take()
	for _, m := range msgs {
		v.pending = append(v.pending, store.Event{Kind: store.EventNew, Mailbox: v.name, Message: m, ModSeq: m.ModSeq})
	}
}
