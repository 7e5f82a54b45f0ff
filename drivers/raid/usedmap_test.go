package raid

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

func mustUsedMap(t testing.TB, size, region int64) *usedMap {
	t.Helper()
	u, err := newUsedMap(size, region)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsedMapMarkDiscard(t *testing.T) {
	u := mustUsedMap(t, 10*1000+500, 1000) // 11 regions, the last short
	steps := []struct {
		name        string
		op          func() bool
		wantChanged bool
		wantUsed    int64
	}{
		{"write inside region 2", func() bool { return u.markUsed(2100, 10) }, true, 1000},
		{"write again", func() bool { return u.markUsed(2000, 1000) }, false, 1000},
		{"write across 4|5", func() bool { return u.markUsed(4999, 2) }, true, 3000},
		{"write the short tail", func() bool { return u.markUsed(10400, 100) }, true, 3500},
		{"discard part of 4", func() bool { return u.discard(4000, 999) }, false, 3500},
		{"discard all of 4", func() bool { return u.discard(3999, 1002) }, true, 2500},
		{"discard the tail", func() bool { return u.discard(10000, 500) }, true, 2000},
		{"write past the end", func() bool { return u.markUsed(20000, 10) }, false, 2000},
		{"empty write", func() bool { return u.markUsed(0, 0) }, false, 2000},
	}
	for _, s := range steps {
		if got := s.op(); got != s.wantChanged {
			t.Errorf("%s: changed = %v, want %v", s.name, got, s.wantChanged)
		}
		if got := u.usedBytes(); got != s.wantUsed {
			t.Errorf("%s: usedBytes = %d, want %d", s.name, got, s.wantUsed)
		}
	}
	for _, tc := range []struct {
		off, n int64
		want   bool
	}{{0, 2000, false}, {0, 2001, true}, {5999, 1, true}, {6000, 4500, false}} {
		if got := u.used(tc.off, tc.n); got != tc.want {
			t.Errorf("used(%d, %d) = %v, want %v", tc.off, tc.n, got, tc.want)
		}
	}
	var runs [][2]int64
	for off := int64(0); ; {
		s, e, ok := u.nextUsed(off)
		if !ok {
			break
		}
		runs = append(runs, [2]int64{s, e})
		off = e
	}
	want := [][2]int64{{2000, 3000}, {5000, 6000}}
	if len(runs) != len(want) || runs[0] != want[0] || runs[1] != want[1] {
		t.Errorf("used runs = %v, want %v", runs, want)
	}
	if s, _, ok := u.nextUsed(5500); !ok || s != 5500 {
		t.Errorf("nextUsed(5500) = %d, %v, want 5500", s, ok)
	}
}

func TestUsedMapRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		regions int64
		fill    func(u *usedMap)
		wantEnc byte
	}{
		{"empty", 1000, func(u *usedMap) {}, usedEncRuns},
		{"full", 1000, func(u *usedMap) { u.setAll() }, usedEncRuns},
		{"one run", 100000, func(u *usedMap) { u.markUsed(5000*64, 9000*64) }, usedEncRuns},
		{"random", 5000, func(u *usedMap) {
			for i := range int64(5000) {
				if r.IntN(2) == 0 {
					u.markUsed(i*64, 1)
				}
			}
		}, usedEncRaw},
		{"tiny", 3, func(u *usedMap) { u.markUsed(64, 1) }, usedEncRaw},
		{"zero size", 0, func(u *usedMap) {}, usedEncRaw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := mustUsedMap(t, tc.regions*64-7*min(tc.regions, 1), 64)
			tc.fill(u)
			enc := u.encode()
			if enc[40] != tc.wantEnc {
				t.Errorf("encoding = %d, want %d", enc[40], tc.wantEnc)
			}
			got, err := decodeUsedMap(append(enc, make([]byte, 100)...))
			if err != nil {
				t.Fatal(err)
			}
			if !equalMaps(got, u) || got.gen != 1 {
				t.Errorf("decoded map differs (gen %d)", got.gen)
			}
			if u.isDirty() {
				t.Error("dirty right after encode")
			}
		})
	}
}

func equalMaps(a, b *usedMap) bool {
	if a.size != b.size || a.region != b.region || a.n != b.n {
		return false
	}
	for i := range a.bits {
		if a.bits[i] != b.bits[i] {
			return false
		}
	}
	return true
}

func TestUsedMapDecodeRejects(t *testing.T) {
	u := mustUsedMap(t, 64*100, 64)
	u.markUsed(64*10, 64*5)
	good := u.encode()
	corrupt := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"short":     good[:20],
		"magic":     corrupt(func(b []byte) []byte { b[0] = 'X'; return b }),
		"checksum":  corrupt(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
		"payload":   corrupt(func(b []byte) []byte { b[usedHeader] ^= 1; return b }),
		"truncated": good[:len(good)-2],
		"huge len":  corrupt(func(b []byte) []byte { b[47] = 0x7f; return b }),
	} {
		if _, err := decodeUsedMap(b); err == nil {
			t.Errorf("decode(%s) succeeded", name)
		}
	}
}

func TestUsedRegionSize(t *testing.T) {
	for _, tc := range []struct {
		size, stripe, capacity, want int64
	}{
		{1 << 30, 1 << 20, 4096, 1 << 20},           // 1024 stripes fit
		{1 << 40, 1 << 20, 4096, 33 << 20},          // 1M stripes in 32384 bits
		{(1 << 40) / 3, 3 << 18, 64 << 10, 3 << 18}, // 466034 stripes, room for 523872
	} {
		got, err := usedRegionSize(tc.size, tc.stripe, tc.capacity)
		if err != nil || got != tc.want {
			t.Errorf("usedRegionSize(%d, %d, %d) = %d, %v, want %d", tc.size, tc.stripe, tc.capacity, got, err, tc.want)
		}
		u := mustUsedMap(t, tc.size, got)
		u.setAll()
		// worst case: alternate regions
		for i := int64(0); i < u.n; i += 2 {
			u.discard(i*got, got)
		}
		if enc := u.encode(); int64(len(enc)) > tc.capacity {
			t.Errorf("worst-case map of %d bytes exceeds %d", len(enc), tc.capacity)
		}
	}
	if _, err := usedRegionSize(1<<30, 1<<20, 40); err == nil {
		t.Error("usedRegionSize with no room succeeded")
	}
}

func TestUsedMapNewestCopyWins(t *testing.T) {
	members := []Member{raidtest.NewMem(1 << 16), raidtest.NewMem(1 << 16), raidtest.NewMem(1 << 16)}
	u := mustUsedMap(t, 64*1000, 64)
	u.markUsed(0, 64)
	old := u.encode()
	u.markUsed(64*500, 64)
	newer := u.encode()
	for i, enc := range [][]byte{old, newer, newer} {
		if err := writeUsedMap(members[i], 4096, 8192, enc); err != nil {
			t.Fatal(err)
		}
	}
	raidtest.Corrupt(members[2], 4096+30, 0x10) // a torn copy
	got, err := readUsedMap(members, 4096, 8192)
	if err != nil {
		t.Fatal(err)
	}
	if got.gen != 2 || !got.used(64*500, 1) {
		t.Errorf("read generation %d, want the newest (2)", got.gen)
	}
	if _, err := readUsedMap([]Member{raidtest.NewMem(1 << 16)}, 4096, 8192); !errors.Is(err, errNoUsedMap) {
		t.Errorf("readUsedMap of blank members = %v, want errNoUsedMap", err)
	}
	if err := writeUsedMap(members[0], 0, 10, newer); err == nil {
		t.Error("writeUsedMap into a too small area succeeded")
	}
}

func FuzzDecodeUsedMap(f *testing.F) {
	u, _ := newUsedMap(64*1000, 64)
	f.Add(u.encode())
	u.markUsed(64*3, 64*10)
	f.Add(u.encode())
	for i := int64(0); i < 1000; i += 3 {
		u.markUsed(i*64, 1)
	}
	f.Add(u.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUsedMap(b)
		if err != nil {
			return
		}
		if u.n > 1<<24 {
			return
		}
		again, err := decodeUsedMap(u.encode())
		if err != nil || !equalMaps(u, again) {
			t.Fatalf("re-encoded map does not round-trip: %v", err)
		}
	})
}
