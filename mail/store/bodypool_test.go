package store

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// Every test of the package runs with released buffers poisoned: a body
// buffer reused while a unit, a batch or a reader still needs it turns into
// wrong bytes that the read-back checks see. Benchmarks (-test.bench) run
// without, to measure what production does.
func init() {
	args := os.Args[1:]
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		v, ok := strings.CutPrefix(a, "test.bench=")
		if a == "test.bench" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok && v != "" {
			return
		}
	}
	poison = bytes.Repeat([]byte{0xa5}, blobChunk)
}

func TestCRC32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name   string
		la, lb int
	}{
		{"both empty", 0, 0},
		{"empty tail", 100, 0},
		{"empty head", 0, 100},
		{"one byte each", 1, 1},
		{"header then chunk", recHeaderSize, blobChunk},
		{"odd lengths", 12345, 67891},
		{"megabytes", 1<<20 + 3, 2<<20 - 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := data[:tc.la], data[tc.la:tc.la+tc.lb]
			got := crc32Combine(crc(a), crc(b), len(b))
			if want := crc(data[:tc.la+tc.lb]); got != want {
				t.Errorf("crc32Combine(crc(%d bytes), crc(%d bytes)) = %#08x, want %#08x", tc.la, tc.lb, got, want)
			}
		})
	}
	for range 200 {
		la, lb := rng.IntN(70000), rng.IntN(70000)
		a, b := data[:la], data[la:la+lb]
		if got, want := crc32Combine(crc(a), crc(b), lb), crc(data[:la+lb]); got != want {
			t.Fatalf("crc32Combine over %d+%d bytes = %#08x, want %#08x", la, lb, got, want)
		}
	}
}

func FuzzCRC32Combine(f *testing.F) {
	f.Add([]byte("From: a@example.org\r\n\r\nhello"), 6)
	f.Add(bytes.Repeat([]byte{0}, 300), 0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, 4)
	f.Fuzz(func(t *testing.T, p []byte, cut int) {
		if cut < 0 || cut > len(p) {
			return
		}
		a, b := p[:cut], p[cut:]
		got := crc32Combine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), len(b))
		if want := crc32.Checksum(p, castagnoli); got != want {
			t.Errorf("crc32Combine at %d of %d bytes = %#08x, want %#08x", cut, len(p), got, want)
		}
	})
}

// readPart cuts a stream into the parts readBody stores: blobChunk bytes
// each but the last, the stream's bytes in order, each with its CRC; a
// small body stays in a small buffer.
func TestReadPart(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		wrap  func(io.Reader) io.Reader
		small bool // one part, in a small buffer
	}{
		{"empty", 0, nil, false},
		{"one byte", 1, nil, true},
		{"small, byte by byte", smallBuf - 1, iotest.OneByteReader, true},
		{"exactly small", smallBuf, nil, false},
		{"small plus one", smallBuf + 1, iotest.HalfReader, false},
		{"exactly a chunk", blobChunk, iotest.DataErrReader, false},
		{"chunk plus one", blobChunk + 1, nil, false},
		{"several chunks", 3*blobChunk + 12345, iotest.HalfReader, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte(i*7 + i>>9)
			}
			var r io.Reader = bytes.NewReader(data)
			if tc.wrap != nil {
				r = tc.wrap(r)
			}
			var got []byte
			for n := 0; ; n++ {
				pt, end, err := readPart(r, n == 0)
				if err != nil {
					t.Fatalf("readPart #%d: %v", n, err)
				}
				if pt.buf != nil {
					if pt.crc != crc(pt.b) {
						t.Errorf("part #%d: crc %#x, want %#x", n, pt.crc, crc(pt.b))
					}
					if !end && len(pt.b) != blobChunk {
						t.Errorf("part #%d (not the last) has %d bytes, want %d", n, len(pt.b), blobChunk)
					}
					if small := len(*pt.buf) == smallBuf; small != tc.small {
						t.Errorf("part #%d in a %d-byte buffer", n, len(*pt.buf))
					}
					got = append(got, pt.b...)
					releaseParts([]part{pt})
				}
				if end {
					break
				}
			}
			if !bytes.Equal(got, data) {
				t.Errorf("parts hold %d bytes, want the %d read", len(got), len(data))
			}
		})
	}
}

func TestReadPartError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, first := range []bool{true, false} {
		r := io.MultiReader(bytes.NewReader(make([]byte, smallBuf+5)), iotest.ErrReader(boom))
		if first {
			r = io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom))
		}
		pt, _, err := readPart(r, first)
		if !errors.Is(err, boom) || pt.buf != nil {
			t.Errorf("readPart(first=%v) over a failing reader = %v, %v; want the reader's error and no part", first, pt.buf != nil, err)
		}
	}
}

// The writer keeps its batch buffer from one commit to the next, grown
// geometrically: a full batch (with a segment header in front) must not
// make it drop the buffer, or every large commit would allocate (and
// zero, and fault in) megabytes again. Only a unit larger than a batch
// leaves a buffer too big to keep.
func TestBatchBufferKept(t *testing.T) {
	var buf []byte
	allocs := 0
	for _, need := range []int{4 << 10, 1<<20 + 100, 3 << 20, maxBatchBytes + segHeaderSize, 5 << 20, maxBatchBytes + segHeaderSize} {
		before := cap(buf)
		buf = growBatch(buf[:0], need)
		if cap(buf) != before {
			allocs++
		}
		if cap(buf) < need {
			t.Fatalf("growBatch(%d) has cap %d", need, cap(buf))
		}
		if buf = keepBatch(buf[:need]); buf == nil {
			t.Fatalf("a %d-byte batch buffer (cap %d) was not kept", need, cap(buf))
		}
	}
	if allocs > 4 {
		t.Errorf("%d allocations for six batches, want at most 4 (then none)", allocs)
	}
	if keepBatch(make([]byte, 0, 2*maxBatchBytes)) != nil {
		t.Error("keepBatch kept a buffer of two batches")
	}
}
