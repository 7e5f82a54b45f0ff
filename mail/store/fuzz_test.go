package store

import (
	"bytes"
	"testing"
	"time"
)

// sampleRecords are real records of every type, as the store writes them.
func sampleRecords() []rec {
	return []rec{
		mkrec(&recAccountAddP{id: 1, name: "a@x.org", hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"}),
		mkrec(&recAccountDelP{id: 1}),
		mkrec(&recAccountSetP{id: 1, field: fieldQuota, quota: 1 << 30}),
		mkrec(&recAccountSetP{id: 1, field: fieldDisabled, disabled: true}),
		mkrec(&recAliasP{address: "@x.org", account: 1}),
		mkrec(&recSettingP{key: "tls/cert", present: true, value: []byte("PEM")}),
		mkrec(&recMailboxCreateP{acct: 1, id: 2, name: "Привет/日本", special: SpecialSent, uidValidity: 7}),
		mkrec(&recMailboxDeleteP{acct: 1, id: 2}),
		mkrec(&recMailboxRenameP{acct: 1, entries: []renameEntry{{2, "A"}, {3, "A/B"}}}),
		mkrec(&recSubscribeP{acct: 1, name: "INBOX", on: true}),
		mkrec(&recAppendP{size: 5, data: []byte("hello"), targets: []target{{acct: 1, mbox: 2, uid: 3, date: 1e9, flags: bitSeen, kws: []string{"$Forwarded"}}}}),
		mkrec(&recAppendP{size: 300000, chunks: []extent{{8192, 262176}, {270368, 37824}}, targets: []target{{acct: 1, mbox: 2, uid: 4}}}),
		mkrec(&recBlobMoveP{size: 2, from: 8192, acct: 1, mbox: 2, uid: 3, data: []byte("hi")}),
		mkrec(&recCopyP{acct: 1, src: 2, dst: 3, move: true, pairs: []uidPair{{1, 5}, {2, 6}}}),
		mkrec(&recFlagsP{acct: 1, mbox: 2, op: FlagsReplace, bits: bitDeleted, kws: []string{"Work"}, uids: UIDSet{{1, 0}}, unchangedSince: 9}),
		mkrec(&recExpungeP{acct: 1, mbox: 2, onlyDeleted: true}),
		mkrec(&recRecentP{acct: 1, mbox: 2, mark: 41}),
		mkrec(&recCkptDirP{replay: logPos{seg: 1, off: 64, segSeq: 2, seq: 10}, total: 3, dataCRC: 5, extents: []extent{{1 << 20, 4096}}}),
		{typ: recSeal, p: seal{firstSeq: 1, lastSeq: 9, next: 3, dataCRC: 77}.marshal()},
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		v, err := decodeRec(r.typ, append(r.p, r.p2...))
		if err != nil {
			t.Fatalf("decode %s: %v", recNames[r.typ], err)
		}
		if r.v == nil {
			continue
		}
		typ, p := marshalRec(v)
		if typ != r.typ || !bytes.Equal(p, append(r.p, r.p2...)) {
			t.Errorf("%s: re-encoded differs", recNames[r.typ])
		}
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to the record header parser and
// the payload decoders; they must never panic, and whatever decodes must
// re-encode to a payload that decodes the same way.
func FuzzDecodeRecord(f *testing.F) {
	var uuid [16]byte
	for _, r := range sampleRecords() {
		b := make([]byte, recHeaderSize)
		p := append(r.p, r.p2...)
		recHeader{typ: r.typ, flags: flagBatchStart, count: 1, length: uint32(len(p)),
			batchLen: uint32(recSize(len(p))), seq: 42, dataCRC: crc(p)}.put(b, uuid)
		f.Add(append(b, p...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseRecHeader(b, uuid)
		typ := uint8(0)
		p := b
		if err == nil {
			typ = h.typ
			if int(h.length) <= len(b)-recHeaderSize {
				p = b[recHeaderSize : recHeaderSize+int(h.length)]
			}
		} else if len(b) > 0 {
			typ, p = b[0]%20, b[1:]
		}
		v, err := decodeRec(typ, p)
		if err != nil {
			return
		}
		switch v.(type) {
		case []byte, seal:
			return
		}
		t2, p2 := marshalRec(v)
		v2, err := decodeRec(t2, p2)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", recNames[typ], err)
		}
		_, p3 := marshalRec(v2)
		if !bytes.Equal(p2, p3) {
			t.Fatalf("%s: encoding not stable", recNames[typ])
		}
	})
}

// sampleCheckpoint builds a real checkpoint from a small store.
func sampleCheckpoint(t testing.TB) []byte {
	st := newState()
	s := &Store{st: st, segSize: 1 << 20, dataStart: 8192, segLive: make([]int64, 4)}
	a := &account{id: 1, name: "a@x.org", hash: "h", quota: 10, mailboxes: map[uint32]*mailbox{},
		byName: map[string]*mailbox{}, subs: map[string]bool{"INBOX": true}}
	st.accounts[1], st.byName[a.name] = a, a
	mb := &mailbox{id: 1, acct: a, name: "INBOX", uidValidity: 5, uidNext: 1, keywords: []string{"Work", "$Gone"}}
	a.mailboxes[1], a.byName["INBOX"] = mb, mb
	b := &blob{off: 8192, reclen: 64, size: 5}
	for uid := uint32(1); uid <= 3; uid++ {
		s.insertMsg(mb, msg{uid: uid, flags: bitSeen, kw: 1, date: time.Now().Unix(), modseq: uint64(uid), blob: b})
	}
	mb.recent = 2
	st.aliases["@x.org"] = 1
	st.settings["k"] = []byte("v")
	return s.encodeCheckpoint()
}

// checkpointV1 is a checkpoint as written before the \Recent mark
// ("PVCKPT01"): one account, INBOX with UIDNEXT 4 and no messages.
func checkpointV1() []byte {
	e := enc{b: []byte(ckptMagicV1)}
	e.uv(2)                   // next account id
	e.uv(2)                   // next mailbox id
	e.uv(0)                   // settings
	e.uv(0)                   // bodies
	e.uv(1)                   // accounts
	e.uv(1)                   // id
	e.str("a@x.org")          // address
	e.str("h")                // hash
	e.uv(0)                   // quota
	e.u8(0)                   // disabled
	e.strs(nil)               // subscriptions
	e.uv(1)                   // mailboxes
	e.uv(1)                   // id
	e.str("INBOX")            // name
	e.str("")                 // special-use
	e.uv(5)                   // UIDVALIDITY
	e.uv(4)                   // UIDNEXT
	e.uv(9)                   // HIGHESTMODSEQ
	e.strs([]string{"$Kept"}) // keywords
	e.uv(0)                   // messages
	e.uv(0)                   // aliases
	return e.b
}

// A PVCKPT01 checkpoint opens: nothing in it is recent (its mark is
// UIDNEXT-1), and it is written back as PVCKPT02 with that mark.
func TestCheckpointV1(t *testing.T) {
	st, err := decodeCheckpoint(checkpointV1())
	if err != nil {
		t.Fatal(err)
	}
	mb := st.accounts[1].byName["INBOX"]
	if mb.recent != 3 || mb.recentRes != 3 || len(mb.keywords) != 1 {
		t.Fatalf("v1 INBOX: recent %d/%d, keywords %v; want 3 and [$Kept]", mb.recent, mb.recentRes, mb.keywords)
	}
	again := (&Store{st: st}).encodeCheckpoint()
	if string(again[:len(ckptMagic)]) != ckptMagic {
		t.Fatalf("re-encoded as %q", again[:len(ckptMagic)])
	}
	st2, err := decodeCheckpoint(again)
	if err != nil || st2.accounts[1].byName["INBOX"].recent != 3 {
		t.Fatalf("v2 round trip: %v", err)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	data := sampleCheckpoint(t)
	st, err := decodeCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{st: st}
	if again := s.encodeCheckpoint(); !bytes.Equal(again, data) {
		t.Fatal("checkpoint does not re-encode identically")
	}
	if a := st.byName["a@x.org"]; a == nil || a.usage != 15 || a.nmsgs != 3 || st.blobs != 1 {
		t.Fatalf("decoded account %+v, blobs %d", a, st.blobs)
	}
}

// FuzzDecodeCheckpoint: the checkpoint decoder never panics, and what it
// accepts re-encodes to something it accepts again.
func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add(sampleCheckpoint(f))
	f.Add(checkpointV1())
	f.Add([]byte(ckptMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		s := &Store{st: st}
		if _, err := decodeCheckpoint(s.encodeCheckpoint()); err != nil {
			t.Fatalf("re-encoded checkpoint rejected: %v", err)
		}
	})
}

func FuzzSuperblock(f *testing.F) {
	sb := superblock{segSize: 1 << 20, dataStart: 1 << 16, segCount: 10, generation: 3}
	f.Add(sb.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < superLen {
			return
		}
		got, err := parseSuperblock(b)
		if err != nil {
			return
		}
		if again, err := parseSuperblock(got.marshal()); err != nil || *again != *got {
			t.Fatalf("superblock round trip: %v", err)
		}
	})
}
