package raid

import (
	"bytes"
	"testing"
)

func sampleRecord() *jrecord {
	r := &jrecord{seq: 42, stripe: 7,
		entries: []jentry{{role: 1, crc: 0xdeadbeef, lo: 4096, hi: 12288}, {role: 3, crc: 7, lo: 0, hi: 16384}}}
	r.data = [][]byte{bytes.Repeat([]byte{0xab, 0xcd}, 4096), bytes.Repeat([]byte{0x5a}, 16384)}
	return r
}

func TestJournalPieceRoundTrip(t *testing.T) {
	uuid, key := [16]byte{1, 2, 3}, [16]byte{7, 7}
	r := sampleRecord()
	for i := range r.entries {
		b := r.encodePiece(i, uuid, key)
		if int64(len(b)) != r.pieceSize(i) || len(b)%4096 != 0 {
			t.Fatalf("piece %d: encoded %d bytes, pieceSize %d", i, len(b), r.pieceSize(i))
		}
		got, k, ok := decodePiece(b, uuid, key, 8)
		if !ok || k != i {
			t.Fatalf("decodePiece rejected its own encoding of piece %d (%d, %v)", i, k, ok)
		}
		if got.seq != r.seq || got.stripe != r.stripe || len(got.entries) != 2 ||
			got.entries[0] != r.entries[0] || got.entries[1] != r.entries[1] || !bytes.Equal(got.data[i], r.data[i]) ||
			got.data[1-i] != nil {
			t.Fatalf("decode(encode(piece %d)) = %+v", i, got)
		}
	}
	b := r.encodePiece(1, uuid, key)
	tests := []struct {
		name      string
		mut       func(b []byte)
		uuid, key [16]byte
	}{
		{"payload bit flip", func(b []byte) { b[5000] ^= 1 }, uuid, key},
		{"header bit flip", func(b []byte) { b[16] ^= 1 }, uuid, key},
		{"torn payload", func(b []byte) { clear(b[8192:]) }, uuid, key},
		{"other array", func(b []byte) {}, [16]byte{9}, key},
		{"crafted without the journal key", func(b []byte) {}, uuid, [16]byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := append([]byte(nil), b...)
			tt.mut(c)
			if _, _, ok := decodePiece(c, tt.uuid, tt.key, 8); ok {
				t.Error("a damaged or foreign piece was accepted")
			}
		})
	}
}

// TestJournalReplayable: a record is replayed when every piece is found or
// its member's ring could not be read; a piece missing from a readable ring
// means the record never completed.
func TestJournalReplayable(t *testing.T) {
	r := sampleRecord()
	r.data[1] = nil
	if r.replayable(map[int]bool{1: true, 3: true}) {
		t.Error("a record whose piece is missing from a readable ring was replayable")
	}
	if !r.replayable(map[int]bool{1: true}) {
		t.Error("a record whose missing piece lives on an unreadable member was not replayable")
	}
}

func TestCheckpointAndMetaHeader(t *testing.T) {
	uuid := [16]byte{5}
	if v, ok := decodeCkpt(encodeCkpt(99, uuid), uuid); !ok || v != 99 {
		t.Errorf("decodeCkpt(encodeCkpt(99)) = %d, %v", v, ok)
	}
	if _, ok := decodeCkpt(encodeCkpt(99, uuid), [16]byte{6}); ok {
		t.Error("checkpoint of another array accepted")
	}
	l, off := planLayout(1<<30, 6, 512<<10)
	l.SetUUID = uuid
	l.JournalKey = [16]byte{3, 1, 4, 1, 5}
	if err := l.validate(off); err != nil {
		t.Fatalf("planLayout(1 GiB) does not validate: %v", err)
	}
	if off != 4096*512 && off < roundUp(l.End, mib) {
		t.Errorf("data_offset %d", off)
	}
	got, err := decodeMetaLayout(l.encode())
	if err != nil || *got != l {
		t.Fatalf("decodeMetaLayout(encode) = %+v, %v", got, err)
	}
	b := l.encode()
	b[40] ^= 1
	if _, err := decodeMetaLayout(b); err == nil {
		t.Error("damaged metadata header accepted")
	}
}

func TestMdadmDataOffset(t *testing.T) {
	tests := []struct {
		size int64
		want int64 // sectors, as PLATFORM.md measured mdadm 4.2
	}{
		{100 << 20, 2048}, {1 << 30, 4096}, {16 << 30, 34816},
	}
	for _, tt := range tests {
		if got := mdadmDataOffset(tt.size) / 512; got != tt.want {
			t.Errorf("mdadmDataOffset(%d) = %d sectors, want %d", tt.size, got, tt.want)
		}
	}
}

func FuzzDecodePiece(f *testing.F) {
	uuid, key := [16]byte{1, 2, 3}, [16]byte{4}
	f.Add(sampleRecord().encodePiece(0, uuid, key))
	f.Add(sampleRecord().encodePiece(1, uuid, key))
	f.Add(encodeCkpt(1, uuid))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, i, ok := decodePiece(b, uuid, key, 16)
		if !ok {
			return
		}
		e := r.entries[i]
		if int64(len(r.data[i])) != e.hi-e.lo {
			t.Fatal("payload length does not match the entry's range")
		}
		again, k, ok := decodePiece(r.encodePiece(i, uuid, key), uuid, key, 16)
		if !ok || k != i || again.seq != r.seq || !bytes.Equal(again.data[i], r.data[i]) {
			t.Fatal("re-encoding changed the piece")
		}
	})
}

func FuzzDecodeMetaLayout(f *testing.F) {
	l, _ := planLayout(64<<20, 5, 64<<10)
	f.Add(l.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeMetaLayout(b)
		if err != nil {
			return
		}
		if again, err := decodeMetaLayout(got.encode()); err != nil || *again != *got {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}

// TestCRCTablePages: sums survive eviction and a Flush-like write-back, and
// memory stays bounded.
func TestCRCTablePages(t *testing.T) {
	m := memMembers(1, 8<<20)[0]
	rows := int64(crcPerPage * (crcMaxPages + 100))
	if 4*rows > 8<<20-4096 {
		t.Skip("member too small")
	}
	tab := newCRCTable(1, rows, 4096, func(int) Member { return m })
	for s := int64(0); s < rows; s += 97 {
		tab.set(0, s, uint32(s)+1)
		if s%(crcPerPage*64) == 0 {
			for p, b := range tab.dirtyPages(0) {
				m.WriteAt(b, 4096+p*metaAlign)
			}
		}
	}
	for p, b := range tab.dirtyPages(0) {
		m.WriteAt(b, 4096+p*metaAlign)
	}
	if n := len(tab.pages[0]); n > crcMaxPages {
		t.Errorf("%d pages held, want at most %d", n, crcMaxPages)
	}
	for s := int64(0); s < rows; s += 97 {
		if got := tab.get(0, s); got != uint32(s)+1 {
			t.Fatalf("get(%d) = %d, want %d", s, got, s+1)
		}
	}
}
