package imap

import (
	"bufio"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/postvault/postvault/mail/store"
)

// Search answers SEARCH and UID SEARCH (RFC 9051 section 6.4.4; ESEARCH
// RFC 4731, SEARCHRES RFC 5182). Every criterion is evaluated: flags,
// \Recent, sizes, dates, sequence and UID sets, header fields (decoded from
// RFC 2047 words in any charset, compared case-insensitively in UTF-8) and
// BODY/TEXT on the decoded text of every text part (transfer encoding and
// charset undone, streamed). Cheap criteria are tried first; a message's
// body is only opened when a text criterion needs it.
func (s *session) Search(kind imapserver.NumKind, c *imap.SearchCriteria, opts *imap.SearchOptions) (*imap.SearchData, error) {
	v := s.sel
	v.mu.Lock()
	defer v.mu.Unlock()
	msgs, _, err := s.acct.Messages(v.name, nil)
	if err != nil {
		return nil, s.fail("search", err)
	}
	byUID := make(map[uint32]*store.Message, len(msgs))
	for i := range msgs {
		byUID[msgs[i].UID] = &msgs[i]
	}
	var seqs, uids []uint32
	for i, uid := range v.uids {
		m, ok := byUID[uid]
		if !ok {
			continue
		}
		e := &evaluator{s: s, v: v, seq: uint32(i) + 1, m: m}
		ok, err := e.match(c)
		e.close()
		if err != nil {
			return nil, s.fail("search", err)
		}
		if ok {
			seqs = append(seqs, uint32(i)+1)
			uids = append(uids, uid)
		}
	}
	if opts.ReturnSave {
		s.searchRes = uids
	}
	return searchData(kind, seqs, uids), nil
}

func searchData(kind imapserver.NumKind, seqs, uids []uint32) *imap.SearchData {
	nums := seqs
	data := &imap.SearchData{Count: uint32(len(nums))}
	if kind == imapserver.NumKindUID {
		nums = uids
		data.All = imapUIDSet(uids)
		if data.All.(imap.UIDSet) == nil {
			data.All = imap.UIDSet{}
		}
	} else {
		var set imap.SeqSet
		set.AddNum(seqs...)
		if set == nil {
			set = imap.SeqSet{}
		}
		data.All = set
	}
	if len(nums) > 0 {
		data.Min, data.Max = nums[0], nums[len(nums)-1]
	}
	return data
}

// evaluator matches one message, loading its header and body lazily.
type evaluator struct {
	s   *session
	v   *selected
	seq uint32
	m   *store.Message

	body    *store.Body
	root    *part
	hdr     *textproto.Header
	found   map[string]bool // body text needle -> found
	loadErr error
}

func (e *evaluator) close() {
	if e.body != nil {
		e.body.Close()
	}
}

// match evaluates c (the conjunction of its fields, RFC 9051 section
// 6.4.4). Errors reading the message are returned, not taken as "no".
func (e *evaluator) match(c *imap.SearchCriteria) (bool, error) {
	if !e.matchMeta(c) {
		return false, nil
	}
	for _, n := range c.Not {
		ok, err := e.match(&n)
		if err != nil || ok {
			return false, err
		}
	}
	for _, or := range c.Or {
		ok, err := e.match(&or[0])
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = e.match(&or[1]); err != nil || !ok {
				return false, err
			}
		}
	}
	return e.matchContent(c)
}

// matchMeta checks what the store's metadata answers.
func (e *evaluator) matchMeta(c *imap.SearchCriteria) bool {
	for _, set := range c.SeqNum {
		if !seqSetContains(set, e.seq, uint32(len(e.v.uids))) {
			return false
		}
	}
	for _, set := range c.UID {
		if !e.uidIn(set) {
			return false
		}
	}
	for _, f := range c.Flag {
		if !e.hasFlag(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if e.hasFlag(f) {
			return false
		}
	}
	if c.Larger > 0 && e.m.Size <= c.Larger {
		return false
	}
	if c.Smaller > 0 && e.m.Size >= c.Smaller {
		return false
	}
	return dateIn(e.m.InternalDate, c.Since, c.Before)
}

func (e *evaluator) hasFlag(f imap.Flag) bool {
	if equalFold(string(f), string(flagRecent)) {
		_, ok := e.v.recent[e.m.UID]
		return ok
	}
	name := canonicalFlag(string(f))
	for _, g := range e.m.Flags {
		// Keywords compare case-insensitively too (RFC 9051 section 2.3.2).
		if g == name || !strings.HasPrefix(name, `\`) && strings.EqualFold(g, name) {
			return true
		}
	}
	return false
}

func (e *evaluator) uidIn(set imap.UIDSet) bool {
	if imap.IsSearchRes(set) {
		for _, u := range e.s.searchRes {
			if u == e.m.UID {
				return true
			}
		}
		return false
	}
	last := uint32(0)
	if n := len(e.v.uids); n > 0 {
		last = e.v.uids[n-1]
	}
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
		if e.m.UID >= lo && e.m.UID <= hi {
			return true
		}
	}
	return false
}

// seqSetContains resolves "*" to the last sequence number.
func seqSetContains(set imap.SeqSet, seq, last uint32) bool {
	for _, r := range set {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = last
		}
		if hi == 0 {
			hi = last
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if seq >= lo && seq <= hi {
			return true
		}
	}
	return false
}

// dateIn compares calendar dates, disregarding time and timezone (RFC 9051
// section 6.4.4): t's own date against since (inclusive) and before
// (exclusive), which the library gives as midnight UTC.
func dateIn(t, since, before time.Time) bool {
	d := civil(t)
	if !since.IsZero() && d.Before(civil(since)) {
		return false
	}
	if !before.IsZero() && !d.Before(civil(before)) {
		return false
	}
	return true
}

func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// matchContent checks the criteria that read the message.
func (e *evaluator) matchContent(c *imap.SearchCriteria) (bool, error) {
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		h, err := e.header()
		if err != nil {
			return false, err
		}
		t, perr := mail.ParseDate(unfold(h.Get("Date")))
		if perr != nil || !dateIn(t, c.SentSince, c.SentBefore) {
			return false, nil
		}
	}
	for _, f := range c.Header {
		h, err := e.header()
		if err != nil {
			return false, err
		}
		if !headerMatch(h, f.Key, f.Value) {
			return false, nil
		}
	}
	for _, t := range c.Body {
		if ok, err := e.bodyContains(t); err != nil || !ok {
			return false, err
		}
	}
	for _, t := range c.Text {
		h, err := e.header()
		if err != nil {
			return false, err
		}
		if headerText(h, t) {
			continue
		}
		if ok, err := e.bodyContains(t); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (e *evaluator) open() error {
	if e.body != nil || e.loadErr != nil {
		return e.loadErr
	}
	e.body, e.loadErr = e.s.acct.Open(e.v.name, e.m.UID)
	return e.loadErr
}

func (e *evaluator) header() (*textproto.Header, error) {
	if e.hdr != nil {
		return e.hdr, nil
	}
	if err := e.open(); err != nil {
		return nil, err
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(io.NewSectionReader(e.body, 0, min(e.body.Size(), maxHeader))))
	e.hdr = &h
	return e.hdr, nil
}

func (e *evaluator) bodyContains(needle string) (bool, error) {
	if ok, done := e.found[needle]; done {
		return ok, nil
	}
	if err := e.open(); err != nil {
		return false, err
	}
	if e.root == nil {
		e.root = parseMessage(io.NewSectionReader(e.body, 0, e.body.Size()))
	}
	ok, err := textContains(e.root, e.body, needle)
	if err != nil {
		return false, err
	}
	if e.found == nil {
		e.found = make(map[string]bool)
	}
	e.found[needle] = ok
	return ok, nil
}

// headerMatch: a field named key whose decoded value contains value;
// an empty value matches any message with the field (RFC 9051 section
// 6.4.4, HEADER).
func headerMatch(h *textproto.Header, key, value string) bool {
	needle := fold(value)
	for _, v := range h.Values(key) {
		if needle == "" || strings.Contains(fold(decodeHeader(v)), needle) {
			return true
		}
	}
	return false
}

// headerText matches TEXT against the header, field by field.
func headerText(h *textproto.Header, value string) bool {
	needle := fold(value)
	for f := h.Fields(); f.Next(); {
		if strings.Contains(fold(f.Key()+": "+decodeHeader(f.Value())), needle) {
			return true
		}
	}
	return false
}
