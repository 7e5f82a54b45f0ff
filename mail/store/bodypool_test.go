package store

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
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
