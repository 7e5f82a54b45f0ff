package sata_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/sata"
)

// BenchmarkMemberBounce measures what the bounce buffers cost: 256 KiB
// reads at offsets 512 bytes off alignment, against the same reads
// aligned, in the same run on the same file. The figure is
// bounce/aligned time per read ("ratio").
func BenchmarkMemberBounce(b *testing.B) {
	p := filepath.Join(b.TempDir(), "bench.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil || os.Truncate(p, 64<<20) != nil {
		b.Fatal(err)
	}
	m, err := sata.OpenDisk(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	buf := make([]byte, 128<<10+4096)
	aligned := buf[:128<<10]
	if !m.Direct() {
		b.Skip("no O_DIRECT on this file system")
	}
	data := make([]byte, 64<<20)
	if _, err := m.WriteAt(data, 0); err != nil {
		b.Fatal(err)
	}
	run := func(off int64, p []byte) time.Duration {
		start := time.Now()
		for i := 0; i < 64; i++ {
			if _, err := m.ReadAt(p, off+int64(i)*(512<<10)); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var ta, tu time.Duration
	for b.Loop() {
		tu += run(512, buf[1:128<<10+1])
		ta += run(0, aligned)
	}
	b.ReportMetric(float64(tu)/float64(ta), "ratio")
	b.ReportMetric(float64(ta.Nanoseconds())/float64(64*b.N), "ns/aligned-read")
}
