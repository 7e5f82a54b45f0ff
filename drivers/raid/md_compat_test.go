package raid

// Compatibility with stock Linux md, proven on the member images md wrote
// (shared/testdata/md, see its README): parity recomputed by hand from the
// raw images, the volume read through every degraded combination, removed
// members rebuilt byte for byte, and scrub on md's arrays.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// mdImages caches each vector's decompressed member images.
var mdImages struct {
	sync.Mutex
	m map[string][][]byte
}

// mdVectorImages returns vector v's member images, m0 first.
func mdVectorImages(t testing.TB, v string) [][]byte {
	t.Helper()
	mdImages.Lock()
	defer mdImages.Unlock()
	if imgs, ok := mdImages.m[v]; ok {
		return imgs
	}
	n := vectorFacts[v].disks
	imgs := make([][]byte, n)
	for i := range n {
		f, err := os.Open(filepath.Join(mdVectorDir(t), v, fmt.Sprintf("m%d.img.gz", i)))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if imgs[i], err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if mdImages.m == nil {
		mdImages.m = map[string][][]byte{}
	}
	mdImages.m[v] = imgs
	return imgs
}

// mdVectorChunk is each vector's chunk size (README).
var mdVectorChunk = map[string]int{"A": 64 << 10, "B": 64 << 10, "C": 16 << 10}

// contentBlock returns block j of the README's content rule.
func contentBlock(j int) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(j))
	h := sha256.Sum256(b[:])
	return h[:]
}

// TestMDVectorParityByHand de-stripes the raw images with the README's
// left-symmetric rules, independently of layout.go, and checks every
// stripe's P and Q against the plain syndrome and against the codec, and
// the data against the content rule.
func TestMDVectorParityByHand(t *testing.T) {
	for _, v := range []string{"A", "B", "C"} {
		t.Run(v, func(t *testing.T) {
			imgs := mdVectorImages(t, v)
			n, chunk := len(imgs), mdVectorChunk[v]
			par := vectorFacts[v].level - 4
			k := n - par
			c, err := newCodec(k, par)
			if err != nil {
				t.Fatal(err)
			}
			const dataOff = 1 << 20
			stripes := (len(imgs[0]) - dataOff) / chunk
			h := sha256.New()
			var head []byte // the first 64 content blocks
			for s := range stripes {
				p := n - 1 - s%n
				at := func(role int) []byte { return imgs[role][dataOff+s*chunk : dataOff+(s+1)*chunk] }
				data := make([][]byte, k)
				for i := range k {
					data[i] = at((p + 1 + par - 1 + i) % n) // RAID-5: P+1+i; RAID-6: P+2+i
					h.Write(data[i])
					if len(head) < 64*32 {
						head = append(head, data[i][:64*32]...)
					}
				}
				shards := append(append([][]byte(nil), data...), make([]byte, chunk), make([]byte, chunk))[:k+par]
				if err := c.encode(shards); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(shards[k], at(p)) || par == 2 && !bytes.Equal(shards[k+1], at((p+1)%n)) {
					t.Fatalf("stripe %d: the codec's parity differs from md's", s)
				}
				if s%16 != 0 {
					continue // the plain syndrome is slow; a sample of stripes suffices
				}
				wantP, wantQ := syndromePlain(data)
				if !bytes.Equal(at(p), wantP) {
					t.Fatalf("stripe %d: P on role %d differs from the XOR of the data", s, p)
				}
				if par == 2 && !bytes.Equal(at((p+1)%n), wantQ) {
					t.Fatalf("stripe %d: Q on role %d differs from md's syndrome", s, (p+1)%n)
				}
			}
			for j := 0; j < 64; j++ {
				if !bytes.Equal(head[32*j:32*j+32], contentBlock(j)) {
					t.Fatalf("content block %d differs from the README's rule", j)
				}
			}
			if got := fmt.Sprintf("%x", h.Sum(nil)); got != vectorFacts[v].sha256 {
				t.Errorf("SHA-256 of the hand-destriped content = %s, want %s", got, vectorFacts[v].sha256)
			}
		})
	}
}

// degradedCases lists vector member sets to leave out: every single and
// pair that parity covers when POSTVAULT_EXHAUSTIVE=1, otherwise a seeded
// sample beyond the README's (which vectors_test.go covers).
func degradedCases() map[string][][]int {
	all := map[string][][]int{}
	for _, v := range []string{"A", "B", "C"} {
		n, par := vectorFacts[v].disks, vectorFacts[v].level-4
		for a := range n {
			all[v] = append(all[v], []int{a})
			for b := a + 1; b < n && par == 2; b++ {
				all[v] = append(all[v], []int{a, b})
			}
		}
	}
	if os.Getenv("POSTVAULT_EXHAUSTIVE") == "1" {
		return all
	}
	r := rand.New(rand.NewPCG(2026, 11))
	out := map[string][][]int{}
	for v, cs := range all {
		for _, i := range r.Perm(len(cs))[:3] {
			out[v] = append(out[v], cs[i])
		}
	}
	return out
}

// assembleImages assembles in-memory copies of imgs without the members in
// without, read-only, in shuffled order.
func assembleImages(t *testing.T, imgs [][]byte, without []int) *Array {
	t.Helper()
	var ms []Member
	for i, img := range imgs {
		skip := false
		for _, w := range without {
			skip = skip || w == i
		}
		if !skip {
			ms = append(ms, raidtest.MemOf(img))
		}
	}
	rand.New(rand.NewPCG(uint64(len(without)), 1)).Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	a, err := Assemble(ms, &AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func volumeSHA(t *testing.T, a *Array) string {
	t.Helper()
	h := sha256.New()
	buf := make([]byte, 3<<20/7) // straddles stripes
	for off := int64(0); off < a.Size(); {
		n, err := a.ReadAt(buf, off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && off < a.Size() {
			t.Fatalf("ReadAt(%d): %v", off, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestMDVectorsDegradedCombinations(t *testing.T) {
	for v, cases := range degradedCases() {
		imgs := mdVectorImages(t, v)
		for _, without := range cases {
			t.Run(fmt.Sprintf("%s without %v", v, without), func(t *testing.T) {
				a := assembleImages(t, imgs, without)
				defer a.Close()
				if st := a.Status().State; st != StateDegraded {
					t.Errorf("state %s, want degraded", st)
				}
				if got := volumeSHA(t, a); got != vectorFacts[v].sha256 {
					t.Errorf("SHA-256 = %s, want %s", got, vectorFacts[v].sha256)
				}
			})
		}
	}
}

// TestMDVectorRebuildRemovedMember rebuilds members left out of md's
// arrays and compares the result with the images md wrote.
func TestMDVectorRebuildRemovedMember(t *testing.T) {
	for v, cases := range degradedCases() {
		imgs := mdVectorImages(t, v)
		for _, without := range cases[:2] {
			t.Run(fmt.Sprintf("%s without %v", v, without), func(t *testing.T) {
				a := assembleImages(t, imgs, without)
				defer a.Close()
				g := a.geo
				for _, r := range without {
					dst := raidtest.NewMem(int64(len(imgs[r])))
					if err := a.RebuildInto(context.Background(), r, dst, nil); err != nil {
						t.Fatal(err)
					}
					end := g.dataOffset + g.stripes*g.chunk
					if got := dst.Bytes()[g.dataOffset:end]; !bytes.Equal(got, imgs[r][g.dataOffset:end]) {
						t.Errorf("rebuilt m%d's data area differs from md's image at byte %d", r, g.dataOffset+int64(firstDiff(got, imgs[r][g.dataOffset:end])))
					}
				}
			})
		}
	}
}

// TestMDVectorScrub scrubs md's arrays read-only: clean as md left them;
// with one chunk corrupted, RAID-6 names the member from P and Q, and
// RAID-5 (no checksums on an md array) reports an unlocated mismatch.
func TestMDVectorScrub(t *testing.T) {
	for _, tc := range []struct {
		v         string
		victim    int // member file corrupted
		wantCause string
		wantRole  int
	}{
		{"A", 4, "parity", 4},
		{"C", 2, "unlocated", -1},
	} {
		t.Run(tc.v, func(t *testing.T) {
			imgs := mdVectorImages(t, tc.v)
			a := assembleImages(t, imgs, nil)
			p, err := a.Scrub(context.Background(), nil)
			a.Close()
			if err != nil || len(p.Mismatches) != 0 || p.Done != vectorFacts[tc.v].arraySize {
				t.Fatalf("scrub of md's array: %d of %d bytes, mismatches %v, %v", p.Done, vectorFacts[tc.v].arraySize, p.Mismatches, err)
			}
			bad := make([][]byte, len(imgs))
			copy(bad, imgs)
			bad[tc.victim] = bytes.Clone(imgs[tc.victim])
			bad[tc.victim][1<<20+3*mdVectorChunk[tc.v]+10] ^= 0x81 // stripe 3
			a = assembleImages(t, bad, nil)
			defer a.Close()
			p, err = a.Scrub(context.Background(), nil)
			if err != nil || len(p.Mismatches) != 1 {
				t.Fatalf("scrub found %v, %v; want one mismatch", p.Mismatches, err)
			}
			if m := p.Mismatches[0]; m.Stripe != 3 || m.Cause != tc.wantCause || m.Role != tc.wantRole {
				t.Errorf("mismatch = %v, want stripe 3, role %d, %s", m, tc.wantRole, tc.wantCause)
			}
		})
	}
}
