package raid

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// BenchmarkSmallCommit measures the mail store's pattern: small appends at
// an advancing offset, each made durable with Flush before the next (one
// store group commit each), on RAID-6 over five member files with the
// default chunk. The reference, measured in the same run, appends the same
// bytes to one plain file in the same folder with fdatasync after each
// write (what a Maildir writer with fsync on does per message, at least).
//
//	go test -run '^$' -bench SmallCommit -benchtime 400x ./drivers/raid/
//
// ratio = our commits per second / the reference's.
func BenchmarkSmallCommit(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprint(size>>10, "KiB"), func(b *testing.B) {
			dir := b.TempDir()
			var ms []Member
			for i := range 5 {
				f, err := raidtest.CreateFile(filepath.Join(dir, fmt.Sprint("m", i)), 256<<20)
				if err != nil {
					b.Fatal(err)
				}
				ms = append(ms, f)
			}
			a, err := Create(ms, &CreateOptions{Level: 6})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			ref, err := os.OpenFile(filepath.Join(dir, "ref"), os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer ref.Close()
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			var ours, raw time.Duration
			off := int64(0)
			b.ResetTimer()
			for i := range b.N {
				if off+int64(size) > a.Size() {
					off = 0
				}
				start := time.Now()
				if _, err := a.WriteAt(data, off); err != nil {
					b.Fatal(err)
				}
				if err := a.Flush(); err != nil {
					b.Fatal(err)
				}
				ours += time.Since(start)
				start = time.Now()
				if _, err := ref.WriteAt(data, int64(i)*int64(size)); err != nil {
					b.Fatal(err)
				}
				if err := unix.Fdatasync(int(ref.Fd())); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(start)
				off += int64(size)
			}
			b.ReportMetric(float64(raw)/float64(ours), "ratio")
			b.ReportMetric(float64(b.N)/ours.Seconds(), "commits/s")
			b.ReportMetric(float64(b.N)/raw.Seconds(), "ref-commits/s")
		})
	}
}
