package raid

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// gfMulPlain multiplies in GF(2^8) mod 0x11d the schoolbook way: shift and
// add, reducing as we go. It shares nothing with parity.go's tables.
func gfMulPlain(a, b byte) byte {
	var r byte
	for b != 0 {
		if b&1 != 0 {
			r ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1d // x^8 = x^4+x^3+x^2+1
		}
		b >>= 1
	}
	return r
}

// syndromePlain computes md's P and Q byte by byte, as raid6_gen_syndrome's
// reference C code does (Horner's rule from the highest data chunk down).
func syndromePlain(data [][]byte) (p, q []byte) {
	n := len(data[0])
	p, q = make([]byte, n), make([]byte, n)
	for i := range n {
		var wp, wq byte
		for z := len(data) - 1; z >= 0; z-- {
			wq = gfMulPlain(wq, 2) ^ data[z][i]
			wp ^= data[z][i]
		}
		p[i], q[i] = wp, wq
	}
	return p, q
}

func randomStripe(r *rand.ChaCha8, k, m, size int) [][]byte {
	shards := make([][]byte, k+m)
	for i := range shards {
		shards[i] = make([]byte, size)
		if i < k {
			r.Read(shards[i])
		}
	}
	return shards
}

func clone(shards [][]byte) [][]byte {
	out := make([][]byte, len(shards))
	for i, s := range shards {
		out[i] = bytes.Clone(s)
	}
	return out
}

func TestGFMulPlainKnownValues(t *testing.T) {
	for _, tc := range []struct{ a, b, want byte }{
		{0x80, 2, 0x1d}, {2, 2, 4}, {0x53, 1, 0x53}, {0, 0x99, 0},
		{0x8e, 2, 0x01}, // 2 * 0x8e = 0x11c ^ 0x11d
	} {
		if got := gfMulPlain(tc.a, tc.b); got != tc.want {
			t.Errorf("gfMulPlain(%#x, %#x) = %#x, want %#x", tc.a, tc.b, got, tc.want)
		}
	}
	for i := range 255 {
		if got := gfMulPlain(gfExp[i], 2); got != gfExp[i+1] {
			t.Fatalf("gfExp[%d]*2 = %#x, want gfExp[%d] = %#x", i, got, i+1, gfExp[i+1])
		}
	}
}

func TestEncodeMatchesMdSyndrome(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1})
	for _, m := range []int{1, 2} {
		for k := 1; k <= 30; k++ {
			if m == 2 && k < 2 {
				continue
			}
			for _, size := range []int{1, 64, 4096 + 13} {
				t.Run(fmt.Sprintf("m%d/k%d/%d", m, k, size), func(t *testing.T) {
					c, err := newCodec(k, m)
					if err != nil {
						t.Fatal(err)
					}
					shards := randomStripe(r, k, m, size)
					if err := c.encode(shards); err != nil {
						t.Fatal(err)
					}
					p, q := syndromePlain(shards[:k])
					if !bytes.Equal(shards[k], p) {
						t.Errorf("P differs from the plain XOR")
					}
					if m == 2 && !bytes.Equal(shards[k+1], q) {
						t.Errorf("Q differs from md's plain syndrome")
					}
				})
			}
		}
	}
}

func TestReconstructEveryLoss(t *testing.T) {
	r := rand.NewChaCha8([32]byte{2})
	for _, m := range []int{1, 2} {
		for _, k := range []int{1, 2, 3, 4, 6, 13} {
			if m == 2 && k < 2 {
				continue
			}
			c, err := newCodec(k, m)
			if err != nil {
				t.Fatal(err)
			}
			want := randomStripe(r, k, m, 1000)
			if err := c.encode(want); err != nil {
				t.Fatal(err)
			}
			n := k + m
			for a := range n {
				for b := a; b < n; b++ {
					if m == 1 && b != a {
						continue
					}
					got := clone(want)
					got[a] = got[a][:0] // reuse capacity, as callers do
					got[b] = nil
					if err := c.reconstruct(got); err != nil {
						t.Fatalf("k=%d m=%d lose %d,%d: %v", k, m, a, b, err)
					}
					for i := range want {
						if !bytes.Equal(got[i], want[i]) {
							t.Errorf("k=%d m=%d lose %d,%d: chunk %d wrong", k, m, a, b, i)
						}
					}
				}
			}
		}
	}
}

func TestReconstructTooManyMissing(t *testing.T) {
	c, err := newCodec(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	shards := randomStripe(rand.NewChaCha8([32]byte{3}), 4, 2, 64)
	shards[0], shards[1], shards[5] = nil, nil, nil
	if err := c.reconstruct(shards); err == nil {
		t.Fatal("reconstruct with 3 of 6 chunks missing succeeded")
	}
}

func TestNewCodecRejects(t *testing.T) {
	for _, tc := range []struct{ k, m int }{{0, 1}, {4, 0}, {4, 3}, {254, 2}, {-1, 2}} {
		if _, err := newCodec(tc.k, tc.m); err == nil {
			t.Errorf("newCodec(%d, %d) succeeded", tc.k, tc.m)
		}
	}
}

func TestEncodeRejectsBadShape(t *testing.T) {
	c, _ := newCodec(3, 2)
	for name, shards := range map[string][][]byte{
		"too few":  {make([]byte, 8), make([]byte, 8), make([]byte, 8), make([]byte, 8)},
		"ragged":   {make([]byte, 8), make([]byte, 9), make([]byte, 8), make([]byte, 8), make([]byte, 8)},
		"one nil":  {make([]byte, 8), nil, make([]byte, 8), make([]byte, 8), make([]byte, 8)},
		"all zero": {{}, {}, {}, {}, {}},
	} {
		if err := c.encode(shards); err == nil {
			t.Errorf("encode(%s) succeeded", name)
		}
	}
}

func TestUpdateMatchesFullEncode(t *testing.T) {
	r := rand.NewChaCha8([32]byte{4})
	for _, m := range []int{1, 2} {
		k := 5
		c, _ := newCodec(k, m)
		shards := randomStripe(r, k, m, 512)
		if err := c.encode(shards); err != nil {
			t.Fatal(err)
		}
		for idx := range k {
			newData := make([]byte, 100)
			r.Read(newData)
			delta := make([]byte, 100)
			for i := range delta {
				delta[i] = shards[idx][200+i] ^ newData[i]
			}
			copy(shards[idx][200:], newData)
			parity := make([][]byte, m)
			for j := range m {
				parity[j] = shards[k+j][200:300]
			}
			if err := c.update(idx, delta, parity); err != nil {
				t.Fatal(err)
			}
			want := clone(shards)
			if err := c.encode(want); err != nil {
				t.Fatal(err)
			}
			for j := range m {
				if !bytes.Equal(shards[k+j], want[k+j]) {
					t.Errorf("m=%d update of chunk %d: parity %d differs from a full encode", m, idx, j)
				}
			}
		}
	}
}

func TestVerifyAndLocate(t *testing.T) {
	r := rand.NewChaCha8([32]byte{5})
	for _, m := range []int{1, 2} {
		for _, k := range []int{2, 4, 10} {
			c, _ := newCodec(k, m)
			good := randomStripe(r, k, m, 4096)
			if err := c.encode(good); err != nil {
				t.Fatal(err)
			}
			scratch := [][]byte{make([]byte, 4096), make([]byte, 4096)}
			if ok, err := c.verify(good, scratch); !ok || err != nil {
				t.Fatalf("verify(good) = %v, %v", ok, err)
			}
			if bad, err := c.locate(good, scratch); bad != -1 || err != nil {
				t.Fatalf("locate(good) = %d, %v, want -1, nil", bad, err)
			}
			for victim := range k + m {
				s := clone(good)
				// corrupt a few scattered bytes of one chunk
				for _, off := range []int{0, 17, 1000, 4095} {
					s[victim][off] ^= byte(1 + r.Uint64()%255)
				}
				if ok, _ := c.verify(s, scratch); ok {
					t.Errorf("k=%d m=%d: verify missed corruption of chunk %d", k, m, victim)
				}
				bad, err := c.locate(s, scratch)
				if m == 1 {
					if !errors.Is(err, errUnlocatable) {
						t.Errorf("RAID-5 locate = %d, %v, want errUnlocatable", bad, err)
					}
					continue
				}
				if err != nil || bad != victim {
					t.Errorf("k=%d: locate with chunk %d corrupt = %d, %v", k, victim, bad, err)
				}
			}
			if m == 2 {
				s := clone(good)
				s[0][5] ^= 1
				s[1][9] ^= 4
				if bad, err := c.locate(s, scratch); !errors.Is(err, errUnlocatable) {
					t.Errorf("k=%d: locate with two bad chunks = %d, %v, want errUnlocatable", k, bad, err)
				}
			}
		}
	}
}

func FuzzReconstruct(f *testing.F) {
	f.Add(uint8(4), uint8(2), uint8(0), uint8(3), []byte("hello, stripe"))
	f.Add(uint8(3), uint8(1), uint8(1), uint8(1), []byte{0xff, 0, 0x80})
	f.Fuzz(func(t *testing.T, k, m, a, b uint8, data []byte) {
		kk, mm := int(k%12)+2, int(m%2)+1
		if len(data) == 0 {
			return
		}
		c, err := newCodec(kk, mm)
		if err != nil {
			t.Fatal(err)
		}
		shards := make([][]byte, kk+mm)
		for i := range shards {
			shards[i] = make([]byte, len(data))
			if i < kk {
				for j := range data {
					shards[i][j] = data[j] ^ byte(i*31)
				}
			}
		}
		if err := c.encode(shards); err != nil {
			t.Fatal(err)
		}
		p, q := syndromePlain(shards[:kk])
		if !bytes.Equal(p, shards[kk]) || (mm == 2 && !bytes.Equal(q, shards[kk+1])) {
			t.Fatal("parity differs from md's plain syndrome")
		}
		want := clone(shards)
		shards[int(a)%(kk+mm)] = nil
		if mm == 2 {
			shards[int(b)%(kk+mm)] = nil
		}
		if err := c.reconstruct(shards); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !bytes.Equal(want[i], shards[i]) {
				t.Fatalf("chunk %d wrong after reconstruct", i)
			}
		}
	})
}
