package imap

import (
	"strings"
	"sync"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// recentMarks implements \Recent (RFC 3501 section 2.3.2, gone in RFC
// 9051): a message is recent in the one session that first learns of it.
// Per mailbox we keep the highest UID some session has claimed; a session
// that selects the mailbox (not EXAMINE) or sees new mail arrive claims
// every UID above the mark.
//
// The store keeps no such mark, so it lives in memory: after a restart the
// mark of a mailbox starts below the first message whose internal date is
// after the server's start, i.e. mail that arrived while the server ran is
// recent, older mail is not.
type recentMarks struct {
	mu    sync.Mutex
	marks map[string]uint32 // guarded by mu: account "\x00" mailbox -> highest claimed UID
}

func newRecentMarks() *recentMarks { return &recentMarks{marks: make(map[string]uint32)} }

func recentKey(account, mailbox string) string { return account + "\x00" + mailbox }

// initial computes the mark of a mailbox never seen since start from its
// messages (ascending UIDs).
func initialMark(msgs []store.Message, start time.Time) uint32 {
	var mark uint32
	for _, m := range msgs {
		// Internal dates may be stored in whole seconds.
		if !m.InternalDate.Before(start.Truncate(time.Second)) {
			break
		}
		mark = m.UID
	}
	return mark
}

// selectMark returns the mark of key before the caller, setting it from
// msgs if it has none; with claim it then raises the mark to the highest UID
// in msgs, so that the UIDs above the returned mark are recent for the
// caller alone.
func (r *recentMarks) selectMark(key string, msgs []store.Message, start time.Time, claim bool) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.marks[key]
	if !ok {
		m = initialMark(msgs, start)
		r.marks[key] = m
	}
	if claim && len(msgs) > 0 && msgs[len(msgs)-1].UID > m {
		r.marks[key] = msgs[len(msgs)-1].UID
	}
	return m
}

// claim raises the mark of key to uid and reports whether uid was above it,
// i.e. whether it is recent for the caller.
func (r *recentMarks) claim(key string, uid uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if uid <= r.marks[key] {
		return false
	}
	r.marks[key] = uid
	return true
}

// forget drops the mark of a deleted or renamed mailbox.
func (r *recentMarks) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.marks, key)
}

// rename moves the marks of a renamed mailbox and its children. INBOX is
// special: renaming it moves its messages and leaves it empty, so its mark
// stays and the new mailbox gets a copy.
func (r *recentMarks) rename(account, oldName, newName string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prefix := recentKey(account, oldName)
	for k, m := range r.marks {
		if k != prefix && !strings.HasPrefix(k, prefix+"/") {
			continue
		}
		r.marks[recentKey(account, newName)+k[len(prefix):]] = m
		if oldName != "INBOX" {
			delete(r.marks, k)
		}
	}
}
