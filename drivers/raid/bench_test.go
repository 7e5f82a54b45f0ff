package raid

// Benchmarks whose figure is a ratio against a reference measured in the
// same run (BENCHMARKS.md, section drivers/raid):
//
//	go test -run '^$' -bench . -benchtime 3x ./drivers/raid/
//
// Each reports "ratio" (ours relative to the reference; the goal in the
// comment) beside both throughputs.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchPool is a working set larger than the CPU caches, so that parity
// and copy both run from memory, as on a real array.
const benchPool = 96 << 20

type stripeSet struct {
	k, m   int
	chunk  int
	shards [][][]byte // stripe -> shard
}

func newStripeSet(k, m, chunk int) *stripeSet {
	n := benchPool / (chunk * (k + m))
	ss := &stripeSet{k: k, m: m, chunk: chunk, shards: make([][][]byte, n)}
	r := rand.NewChaCha8([32]byte{1})
	for i := range ss.shards {
		ss.shards[i] = make([][]byte, k+m)
		for j := range ss.shards[i] {
			ss.shards[i][j] = make([]byte, chunk)
			r.Read(ss.shards[i][j])
		}
	}
	return ss
}

// copyRef copies the data chunks of every stripe into a second buffer set
// and returns the data bytes per second.
func (ss *stripeSet) copyRef(dst [][]byte) float64 {
	start := time.Now()
	var n int
	for i, st := range ss.shards {
		for j := range ss.k {
			n += copy(dst[i%len(dst)][j*ss.chunk:], st[j])
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func copyTargets(ss *stripeSet) [][]byte {
	dst := make([][]byte, len(ss.shards))
	for i := range dst {
		dst[i] = make([]byte, ss.k*ss.chunk)
	}
	return dst
}

// ratioBench runs op and the copy reference alternately b.N times and
// reports the ratio of their median throughputs.
func ratioBench(b *testing.B, ss *stripeSet, op func() float64) {
	dst := copyTargets(ss)
	ss.copyRef(dst) // fault pages in
	op()
	var ours, ref []float64
	for b.Loop() {
		ref = append(ref, ss.copyRef(dst))
		ours = append(ours, op())
	}
	o, r := median(ours), median(ref)
	b.ReportMetric(o/1e6, "MB/s")
	b.ReportMetric(r/1e6, "copy-MB/s")
	b.ReportMetric(o/r, "ratio")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// BenchmarkParityEncode: RAID-6 encode of 8 data chunks vs copying them.
// Goal: ratio >= 1.0.
func BenchmarkParityEncode(b *testing.B) {
	ss := newStripeSet(8, 2, 64<<10)
	c, _ := newCodec(8, 2)
	ratioBench(b, ss, func() float64 {
		start := time.Now()
		for _, st := range ss.shards {
			if err := c.encode(st); err != nil {
				b.Fatal(err)
			}
		}
		return float64(len(ss.shards)*ss.k*ss.chunk) / time.Since(start).Seconds()
	})
}

// BenchmarkParityReconstructTwo: RAID-6 rebuild of two lost data chunks
// from the other six and P and Q, vs copying the data chunks. Goal >= 1.0.
func BenchmarkParityReconstructTwo(b *testing.B) {
	ss := newStripeSet(8, 2, 64<<10)
	c, _ := newCodec(8, 2)
	for _, st := range ss.shards {
		c.encode(st)
	}
	work := make([][]byte, 10)
	ratioBench(b, ss, func() float64 {
		start := time.Now()
		for i, st := range ss.shards {
			copy(work, st)
			a, z := i%8, (i+3)%8
			work[a], work[z] = st[a][:0], st[z][:0]
			if err := c.reconstruct(work); err != nil {
				b.Fatal(err)
			}
		}
		return float64(len(ss.shards)*ss.k*ss.chunk) / time.Since(start).Seconds()
	})
}

// benchArray creates a RAID-6 array of 6 file members (plus a spare) of
// size bytes each under dir, with a 256 KiB chunk, and fills frac of it.
func benchArray(b testing.TB, dir string, size int64, frac float64) (*Array, []string) {
	b.Helper()
	var ms []Member
	var paths []string
	for i := range 7 {
		p := filepath.Join(dir, fmt.Sprintf("m%d.img", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			b.Fatal(err)
		}
		m, err := OpenFile(p, false)
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
		paths = append(paths, p)
	}
	a, err := Create(ms[:6], &CreateOptions{Level: 6, Chunk: 256 << 10, Spares: ms[6:]})
	if err != nil {
		b.Fatal(err)
	}
	ss := a.StripeSize()
	stripes := a.Size() / ss
	buf := make([]byte, ss)
	rand.NewChaCha8([32]byte{3}).Read(buf)
	for s := int64(0); s < int64(float64(stripes)*frac); s++ {
		if _, err := a.WriteAt(buf, s*ss); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.Flush(); err != nil {
		b.Fatal(err)
	}
	return a, paths
}

// rebuildOnce fails role 2 of a fresh array and times its rebuild onto the
// spare.
func rebuildOnce(b *testing.B, size int64, frac float64) (time.Duration, *Array, []string) {
	a, paths := benchArray(b, b.TempDir(), size, frac)
	a.failMember(2, errors.New("bench"))
	start := time.Now()
	if err := a.Rebuild(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), a, paths
}

// rawCopy reads, chunk row by chunk row, the data areas of the five
// survivors and writes one member's worth to a new sparse file of the same
// size (as the spare is), then syncs it: the I/O a rebuild of one member
// does when it reads every survivor, without parity or bookkeeping. (The
// rebuild reads four of the five per row, the data count, which is all
// RAID-6 reconstruction needs.)
func rawCopy(b *testing.B, paths []string, dataOff, rows, chunk int64) time.Duration {
	var fs []*os.File
	for _, p := range paths[:5] {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fs = append(fs, f)
	}
	st, err := fs[0].Stat()
	if err != nil {
		b.Fatal(err)
	}
	dst, err := os.Create(filepath.Join(filepath.Dir(paths[0]), "rawcopy.img"))
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Truncate(st.Size()); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chunk)
	start := time.Now()
	for r := range rows {
		off := dataOff + r*chunk
		for _, f := range fs {
			if _, err := f.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := dst.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	dst.Sync()
	return time.Since(start)
}

// Rebuild figures come in two forms: "ratio" for the whole Rebuild call,
// and "data-ratio" with the fixed cost of a rebuild taken out (promoting
// the spare, the final flush and superblock updates: some twenty fsyncs,
// measured by rebuilding an empty array of the same shape in the same
// run), which is what counts on members of real size.

// BenchmarkRebuildVsRawCopy: rebuild of one member of a full RAID-6 array
// of files vs the raw sequential copy of the same data from the survivors.
// Goal: ratio (raw time / rebuild time) >= 0.9.
func BenchmarkRebuildVsRawCopy(b *testing.B) {
	const size = 64 << 20
	var ours, ref, empty []float64
	for b.Loop() {
		b.StopTimer()
		d, a, paths := rebuildOnce(b, size, 1)
		g := a.geo
		a.Close()
		raw := rawCopy(b, paths, g.dataOffset, g.stripes, g.chunk)
		e, a, _ := rebuildOnce(b, size, 0)
		a.Close()
		ours, ref, empty = append(ours, d.Seconds()), append(ref, raw.Seconds()), append(empty, e.Seconds())
		b.StartTimer()
	}
	b.ReportMetric(median(ref)/median(ours), "ratio")
	b.ReportMetric(median(ref)/max(median(ours)-median(empty), 1e-9), "data-ratio")
	b.ReportMetric(median(ours)*1e3, "rebuild-ms")
	b.ReportMetric(median(empty)*1e3, "fixed-ms")
	b.ReportMetric(median(ref)*1e3, "rawcopy-ms")
}

// BenchmarkRebuildTenPercentUsed: rebuild time of an array 10% in use vs
// the same array full. Goal: ratio <= 0.15.
func BenchmarkRebuildTenPercentUsed(b *testing.B) {
	size := benchMemberSize()
	var part, full, empty []float64
	for b.Loop() {
		b.StopTimer()
		for _, run := range []struct {
			frac float64
			into *[]float64
		}{{0.1, &part}, {1, &full}, {0, &empty}} {
			d, a, _ := rebuildOnce(b, size, run.frac)
			a.Close()
			*run.into = append(*run.into, d.Seconds())
		}
		b.StartTimer()
	}
	e := median(empty)
	b.ReportMetric(median(part)/median(full), "ratio")
	b.ReportMetric((median(part)-e)/max(median(full)-e, 1e-9), "data-ratio")
	b.ReportMetric(median(part)*1e3, "tenpct-ms")
	b.ReportMetric(median(full)*1e3, "full-ms")
	b.ReportMetric(e*1e3, "fixed-ms")
}

// BenchmarkDegradedRead: sequential 1 MiB reads of a RAID-6 volume with
// one member missing vs healthy. Goal: ratio >= 0.7. "ratio" goes through
// ReadAt as it is (io.go's readStripe reads the chunks before the missing
// one directly, then readStripeDegraded the stripe again); "fast-ratio"
// through readStripeDegraded (degraded.go) alone, which is what ReadAt
// gives when readStripe asks needsReconstruct first.
func BenchmarkDegradedRead(b *testing.B) {
	a, _ := benchArray(b, b.TempDir(), 64<<20, 1)
	defer a.Close()
	buf := make([]byte, 1<<20)
	read := func() float64 {
		start := time.Now()
		for off := int64(0); off < a.Size(); off += int64(len(buf)) {
			if _, err := a.ReadAt(buf[:min(int64(len(buf)), a.Size()-off)], off); err != nil {
				b.Fatal(err)
			}
		}
		return float64(a.Size()) / time.Since(start).Seconds()
	}
	ss := a.StripeSize()
	sbuf := make([]byte, ss)
	fast := func() float64 {
		start := time.Now()
		for s := range a.Size() / ss {
			unlock := a.locks.rlock(s)
			err := a.readStripeDegraded(s, 0, sbuf)
			unlock()
			if err != nil {
				b.Fatal(err)
			}
		}
		return float64(a.Size()) / time.Since(start).Seconds()
	}
	read()
	var healthy, degraded, fastDeg []float64
	a.mu.Lock()
	victim := a.roles[3]
	a.mu.Unlock()
	setState := func(st MemberState) { // in memory only: nothing is written
		a.mu.Lock()
		victim.state = st
		a.mu.Unlock()
	}
	for b.Loop() {
		setState(MemberInSync)
		healthy = append(healthy, read())
		setState(MemberFaulty)
		degraded = append(degraded, read())
		fastDeg = append(fastDeg, fast())
	}
	setState(MemberInSync)
	b.ReportMetric(median(degraded)/median(healthy), "ratio")
	b.ReportMetric(median(fastDeg)/median(healthy), "fast-ratio")
	b.ReportMetric(median(healthy)/1e6, "healthy-MB/s")
	b.ReportMetric(median(degraded)/1e6, "degraded-MB/s")
	b.ReportMetric(median(fastDeg)/1e6, "fast-MB/s")
}

// benchMemberSize is the member size of BenchmarkRebuildTenPercentUsed:
// 64 MiB, or POSTVAULT_BENCH_MEMBER_MIB (the rebuild's fixed cost, some
// superblock flushes, weighs less on larger members, as on real disks).
func benchMemberSize() int64 {
	if v, err := strconv.Atoi(os.Getenv("POSTVAULT_BENCH_MEMBER_MIB")); err == nil && v >= 16 {
		return int64(v) << 20
	}
	return 64 << 20
}
