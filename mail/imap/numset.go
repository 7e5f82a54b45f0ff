package imap

import (
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"

	"github.com/postvault/postvault/mail/store"
)

// indices resolves a sequence set, a UID set or "$" (RFC 5182, the saved
// search result, as UIDs) to positions in the view, ascending. v.mu must be
// held.
//
// "*" is the last message the client knows (RFC 9051 section 6.4.1 and
// 9); a range with "*" covers the last message even when its other end is
// past it. A plain sequence number past the end is an error (RFC 9051
// section 6.4.5); UIDs that are not in the view are ignored.
func (v *selected) indices(set imap.NumSet, saved []uint32) ([]int, error) {
	n := len(v.uids)
	if imap.IsSearchRes(set) {
		var out []int
		for _, uid := range saved {
			if i := v.index(uid); i >= 0 {
				out = append(out, i)
			}
		}
		return sortedUnique(out), nil
	}
	var out []int
	switch set := set.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi, dyn := r.Start, r.Stop, r.Start == 0 || r.Stop == 0
			if lo == 0 {
				lo = uint32(n)
			}
			if hi == 0 {
				hi = uint32(n)
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			if hi > uint32(n) && !dyn {
				return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: fmt.Sprintf("No message with sequence number %d (%d messages)", hi, n)}
			}
			for seq := max(lo, 1); seq <= min(hi, uint32(n)); seq++ {
				out = append(out, int(seq)-1)
			}
		}
	case imap.UIDSet:
		if n == 0 {
			return nil, nil
		}
		last := v.uids[n-1]
		for _, r := range set {
			lo, hi := uint32(r.Start), uint32(r.Stop)
			if lo == 0 {
				lo = last
			}
			if hi == 0 {
				hi = last
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			i, _ := slices.BinarySearch(v.uids, lo)
			for ; i < n && v.uids[i] <= hi; i++ {
				out = append(out, i)
			}
		}
	default:
		return nil, fmt.Errorf("imap: unknown number set %T", set)
	}
	return sortedUnique(out), nil
}

func sortedUnique(l []int) []int {
	slices.Sort(l)
	return slices.Compact(l)
}

// uidSetOf is the store's UID set of the given view positions.
func (v *selected) uidSetOf(idx []int) store.UIDSet {
	var set store.UIDSet
	for _, i := range idx {
		uid := v.uids[i]
		if k := len(set) - 1; k >= 0 && set[k].Stop+1 == uid {
			set[k].Stop = uid
			continue
		}
		set = append(set, store.UIDRange{Start: uid, Stop: uid})
	}
	return set
}

// imapUIDSet converts UIDs for a response.
func imapUIDSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}
