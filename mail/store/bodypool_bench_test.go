package store_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// sinkVolume keeps its first bytes (superblocks, the first segments) in
// memory and drops writes beyond them, so that a benchmark measures the
// store's own work per delivery, not a disk's.
type sinkVolume struct {
	*storetest.Mem
	kept, size int64
}

func newSinkVolume(size int64) *sinkVolume {
	const kept = 32 << 20
	return &sinkVolume{Mem: storetest.NewMem(kept, 64<<10), kept: kept, size: size}
}

func (v *sinkVolume) Size() int64 { return v.size }

func (v *sinkVolume) ReadAt(p []byte, off int64) (int, error) {
	if off >= v.kept {
		clear(p)
		return len(p), nil
	}
	n := min(int64(len(p)), v.kept-off)
	if _, err := v.Mem.ReadAt(p[:n], off); err != nil {
		return 0, err
	}
	clear(p[n:])
	return len(p), nil
}

func (v *sinkVolume) WriteAt(p []byte, off int64) (int, error) {
	if off < v.kept {
		n := min(int64(len(p)), v.kept-off)
		if _, err := v.Mem.WriteAt(p[:n], off); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// BenchmarkDeliverCPU measures what one delivery costs the store itself:
// time and heap allocated per message, one client, on a volume that
// drops what it is given (so no disk and no flush wait). x-copy is that
// time over the time of one memory copy of the body, measured in the same
// loop.
func BenchmarkDeliverCPU(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 1<<20 + 4<<10} {
		b.Run(fmt.Sprintf("size=%dK", size>>10), func(b *testing.B) {
			s := benchStore(b, newSinkVolume(4<<30))
			defer s.Close()
			body := bytes.Repeat([]byte("0123456789abcde\n"), size/16)
			to := []store.Delivery{{Recipient: "bench@example.org"}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			// The reference, timed in the same loop: copying the body once
			// (a memory copy into a buffer kept across iterations).
			var ours, ref time.Duration
			sink := make([]byte, len(body))
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				res, err := s.Deliver(ctx, to, time.Time{}, bytes.NewReader(body))
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					b.Fatal(err)
				}
				ours += time.Since(start)
				start = time.Now()
				copy(sink, body)
				ref += time.Since(start)
			}
			b.ReportMetric(float64(ours)/float64(ref), "x-copy")
		})
	}
}
