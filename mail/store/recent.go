package store

import (
	"context"
	"sort"
)

// \Recent (IMAP4rev1, RFC 3501 section 2.3.2; gone from IMAP4rev2) says
// that this session is the first to learn of a message. The store keeps,
// per mailbox, the highest UID some session has claimed as recent (the
// mark, in recent records and checkpoints), so that a restart neither makes
// old mail recent again nor loses what nobody has seen yet.

// ClaimRecent claims for the caller every UID of the mailbox above its
// \Recent mark and up to upTo (capped at the highest UID the mailbox has
// handed out): it raises the mark and returns the mark before (prev) and
// after (now). The messages with a UID in (prev, now] are recent for the
// caller and for no one else: concurrent claims never overlap. When nothing
// is above the mark, prev == now and nothing is written; otherwise the new
// mark is durable when ClaimRecent returns. The mark changes no modseq.
func (a *Account) ClaimRecent(ctx context.Context, mailbox string, upTo uint32) (prev, now uint32, err error) {
	s := a.s
	if err := s.writable(); err != nil {
		return 0, 0, err
	}
	s.mu.RLock()
	s.resMu.Lock()
	mb, err := a.mailbox(mailbox)
	var u *unit
	if err == nil {
		prev = mb.recentRes
		now = max(prev, min(upTo, mb.uidNext-1))
		if now > prev {
			mb.recentRes = now
			u = newUnit(mkrec(&recRecentP{acct: a.id, mbox: mb.id, mark: now}))
			err = s.enqueue(u)
		}
	}
	s.resMu.Unlock()
	s.mu.RUnlock()
	if err != nil {
		return 0, 0, err
	}
	if u != nil {
		if err := u.wait(); err != nil {
			return 0, 0, err
		}
	}
	return prev, now, nil
}

// RecentMark returns the mailbox's \Recent mark without claiming anything:
// the UIDs above it are recent for the next session that claims them
// (STATUS (RECENT), EXAMINE).
func (a *Account) RecentMark(mailbox string) (uint32, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	a.s.resMu.Lock() // recentRes changes under the read lock and resMu
	defer a.s.resMu.Unlock()
	mb, err := a.mailbox(mailbox)
	if err != nil {
		return 0, err
	}
	return mb.recentRes, nil
}

// Keywords lists, sorted, every keyword ever set on a message of the
// mailbox, whether or not a message still has it (RFC 9051 section 2.3.2
// lets a keyword stay defined; FLAGS and PERMANENTFLAGS announce them). A
// mailbox holds at most 64 (ErrTooManyKeywords); the set is kept in the
// log and in checkpoints.
func (a *Account) Keywords(mailbox string) ([]string, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	mb, err := a.mailbox(mailbox)
	if err != nil {
		return nil, err
	}
	out := append([]string(nil), mb.keywords...)
	sort.Strings(out)
	return out, nil
}
