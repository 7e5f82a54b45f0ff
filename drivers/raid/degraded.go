package raid

// A faster degraded read, for io.go's readStripe to call when a chunk
// cannot be read directly (RAID-B's proposal; see BenchmarkDegradedRead).
//
// The data chunks that can be read go straight into the caller's buffer, a
// missing one is reconstructed straight into it too, and only as many
// parity chunks are read as data chunks are missing, into pooled scratch.
// The chunks are read in parallel when the members are slow (disks), one
// after the other when they answer from memory (readChunks). Scratch comes
// from a pool, and the bytes moved are those of a healthy read plus one
// parity chunk per missing data chunk.

import (
	"errors"
	"io"
	"sync"
	"time"
)

// errNeedFullRead says that the fast path cannot serve a read (a member
// failed to read, or too few chunks are left): readShardsLocked must, with
// its read-error repair.
var errNeedFullRead = errors.New("raid: degraded read needs the full path")

// scratchPool holds chunk-sized buffers, keyed by size.
var scratchPool sync.Map // int64 -> *sync.Pool

func getScratch(n int64) *[]byte {
	p, _ := scratchPool.LoadOrStore(n, &sync.Pool{New: func() any { b := make([]byte, n); return &b }})
	return p.(*sync.Pool).Get().(*[]byte)
}

func putScratch(n int64, b *[]byte) {
	if p, ok := scratchPool.Load(n); ok {
		p.(*sync.Pool).Put(b)
	}
}

// needsReconstruct reports whether bytes [in, in+n) of stripe s's data
// touch a chunk whose member cannot be read (missing, faulty or not yet
// rebuilt there): readStripe then goes to readStripeDegraded at once
// instead of reading the chunks before that one twice.
func (a *Array) needsReconstruct(s, in, n int64) bool {
	g := a.geo
	if n <= 0 {
		return false
	}
	for k := in / g.chunk; k <= (in+n-1)/g.chunk; k++ {
		if _, ok := a.usable(g.roleOf(s, int(k)), s); !ok {
			return true
		}
	}
	return false
}

// readStripeDegraded fills b with stripe s's data bytes from in, the caller
// holding the stripe's lock (shared is enough). It returns errNeedFullRead
// when it cannot.
func (a *Array) readStripeDegraded(s, in int64, b []byte) error {
	g := a.geo
	lo, hi := g.chunk, int64(0)
	for pos := int64(0); pos < int64(len(b)); {
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		lo, hi = min(lo, c), max(hi, c+l)
		pos += l
	}
	n := hi - lo
	shards := make([][]byte, g.disks)
	var scratch []*[]byte
	defer func() {
		for _, sb := range scratch {
			putScratch(g.chunk, sb)
		}
	}()
	buf := func() []byte {
		sb := getScratch(g.chunk)
		scratch = append(scratch, sb)
		return (*sb)[:n]
	}
	// inB returns where chunk k's bytes [lo, hi) sit in b, or -1.
	inB := func(k int) int64 {
		pos := int64(k)*g.chunk + lo - in
		if pos < 0 || pos+n > int64(len(b)) {
			return -1
		}
		return pos
	}
	missing := 0
	members := make([]Member, g.disks)
	for i := range g.disks {
		m, ok := a.usable(g.roleOf(s, i), s)
		members[i] = m
		if i < g.data && !ok {
			missing++
		}
	}
	reads := make([]chunkRead, 0, g.disks)
	for i := range g.disks {
		m := members[i]
		var dst []byte
		switch {
		case i >= g.data && (missing == 0 || m == nil):
			continue // parity not needed, or not there
		case i >= g.data:
			missing--
			dst = buf()
		case inB(i) >= 0:
			dst = b[inB(i) : inB(i)+n]
		default:
			dst = buf()
		}
		if m == nil {
			shards[i] = dst[:0] // missing data chunk: reconstructed into dst
			continue
		}
		shards[i] = dst
		reads = append(reads, chunkRead{m: m, b: dst, off: g.memberOffset(s, lo), role: g.roleOf(s, i)})
	}
	if missing > 0 {
		return errNeedFullRead
	}
	ok := readChunks(reads, func(k int) { a.overlay.apply(s, reads[k].role, lo, reads[k].b) })
	if !ok {
		return errNeedFullRead
	}
	// One pass over the chunks read (klauspost's kernels read every input
	// once per output), while they are still in the CPU's cache.
	if err := a.codec.reconstructData(shards); err != nil {
		return errNeedFullRead
	}
	for pos := int64(0); pos < int64(len(b)); {
		k := int((in + pos) / g.chunk)
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		if p := inB(k); p < 0 || p+c-lo != pos {
			copy(b[pos:pos+l], shards[k][c-lo:c-lo+l])
		}
		pos += l
	}
	return nil
}

// chunkRead is one member read of a degraded stripe read.
type chunkRead struct {
	m    Member
	b    []byte
	off  int64
	role int
	err  error
}

// slowRead is how long a first read may take before the others of the same
// call go in parallel. Reads served from memory (the page cache, in-memory
// members) take a few tens of microseconds for a chunk and go one after the
// other: the bytes then sit in this CPU's cache for the reconstruction that
// follows (in parallel they land in another CPU's cache, and were measured
// slower here). A disk read takes milliseconds; then the rest go at once.
const slowRead = 300 * time.Microsecond

// readChunks does reads, one after the other while they answer from
// memory, the rest in parallel once one shows that they wait for a device.
// then(i) runs once read i is in, in order (right after it when reading one
// by one). It reports whether all of them read in full; then is not called
// past a failed read.
func readChunks(reads []chunkRead, then func(i int)) bool {
	do := func(rd *chunkRead) {
		var n int
		n, rd.err = rd.m.ReadAt(rd.b, rd.off)
		if rd.err == nil && n < len(rd.b) {
			rd.err = io.ErrUnexpectedEOF
		}
	}
	for i := range reads {
		start := time.Now()
		do(&reads[i])
		if reads[i].err != nil {
			return false
		}
		then(i)
		if i+2 < len(reads) && time.Since(start) > slowRead {
			rest := reads[i+1:]
			var wg sync.WaitGroup
			for j := range rest[1:] {
				wg.Go(func() { do(&rest[j+1]) })
			}
			do(&rest[0])
			wg.Wait()
			for j := range rest {
				if rest[j].err != nil {
					return false
				}
				then(i + 1 + j)
			}
			return true
		}
	}
	return true
}
