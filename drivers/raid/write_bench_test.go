package raid

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// BenchmarkWriteVsRaw compares volume writes with a raw write of the same
// member bytes (data and parity) in the same run, on files:
//
//	go test -run '^$' -bench WriteVsRaw -benchtime 2x ./drivers/raid/
//
// "full" writes whole stripes to free space (no journal, the mail store's
// pattern); "partial" rewrites 64 KiB inside stripes holding data (read,
// journal on parity+1 members, flush, in place). ratio = raw time / ours.
func BenchmarkWriteVsRaw(b *testing.B) {
	for _, mode := range []string{"full", "partial"} {
		b.Run(mode, func(b *testing.B) {
			const disks, size = 6, 160 << 20
			dir := b.TempDir()
			var ms []Member
			var raws []*raidtest.File
			for i := range disks {
				f, err := raidtest.CreateFile(filepath.Join(dir, fmt.Sprint("m", i)), size)
				if err != nil {
					b.Fatal(err)
				}
				raws = append(raws, f)
				ms = append(ms, f)
			}
			a, err := Create(ms, &CreateOptions{Level: 6, Chunk: 512 << 10})
			if err != nil {
				b.Fatal(err)
			}
			vol := a.StripeSize() * (a.geo.stripes / 2)
			data := randBytes(rand.New(rand.NewPCG(1, 1)), int(a.StripeSize()))
			if mode == "partial" {
				for off := int64(0); off < vol; off += a.StripeSize() {
					a.WriteAt(data, off)
				}
				a.Flush()
			}
			var ours, raw time.Duration
			var bytes int64
			b.ResetTimer()
			for range b.N {
				a.Discard(0, a.Size())
				if mode == "partial" {
					for off := int64(0); off < vol; off += a.StripeSize() {
						a.WriteAt(data, off) // hold data again, so writes are journaled
					}
					a.Flush()
				}
				start := time.Now()
				n := int64(0)
				for off := int64(0); off < vol; off += a.StripeSize() {
					if mode == "full" {
						a.WriteAt(data, off)
						n += int64(len(data))
					} else {
						a.WriteAt(data[:64<<10], off+100<<10)
						n += 64 << 10
					}
				}
				if err := a.Flush(); err != nil {
					b.Fatal(err)
				}
				ours += time.Since(start)
				bytes += n
				// Raw: the same member bytes our writes put in place.
				per := vol / int64(a.geo.data) // bytes per member of a full-stripe pass
				if mode == "partial" {
					per = a.geo.stripes / 2 * (64 << 10) * 3 / int64(disks) // data+P+Q of each 64 KiB
				}
				start = time.Now()
				var wg sync.WaitGroup
				for _, f := range raws {
					wg.Add(1)
					go func() {
						defer wg.Done()
						chunk := data[:min(int64(len(data)), 1<<20)]
						for off := int64(0); off < per; off += int64(len(chunk)) {
							f.WriteAt(chunk, a.geo.dataOffset+off)
						}
						f.Flush()
					}()
				}
				wg.Wait()
				raw += time.Since(start)
			}
			b.ReportMetric(float64(raw)/float64(ours), "ratio")
			b.ReportMetric(float64(bytes)/ours.Seconds()/1e6, "MB/s")
			a.Close()
		})
	}
}
