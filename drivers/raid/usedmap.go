package raid

// The used map: which regions of the volume hold anything of value.
//
// The volume is cut into regions of a fixed size (a multiple of the stripe
// size); a region is in use once any byte of it has been written, and free
// again when Discard covers all of it. Rebuild and scrub visit only regions
// in use, so a mostly empty array rebuilds in proportion to its use. A region
// must be recorded durably before a write into it is reported durable (the
// array stores the map, when it changed, as part of Flush); a lost clear only
// costs some needless rebuild work.
//
// Encoding (little-endian), stored in each member's used-map area, the copy
// with the highest generation and a good checksum winning:
//
//	offset  size  field
//	0       8     magic "PVUSEDM1"
//	8       8     generation: bumped by every encode
//	16      8     volume size in bytes
//	24      8     region size in bytes
//	32      8     number of regions = ceil(volume size / region size)
//	40      1     payload encoding: 0 raw bitmap, 1 runs
//	41      3     zero
//	44      4     payload length in bytes (L)
//	48      L     payload
//	48+L    4     CRC-32C (Castagnoli) of bytes 0 .. 48+L-1
//
// A raw bitmap has one bit per region, region i in bit i%8 of byte i/8, set
// when in use; bits past the last region are zero. Runs are unsigned LEB128
// varints giving the lengths of alternating runs of free and used regions,
// starting with free (a first run of 0 when region 0 is in use); they add up
// to the number of regions and no run but the first is empty. The encoder
// writes whichever payload is shorter.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"sync"
)

const (
	usedMagic     = "PVUSEDM1"
	usedHeader    = 48
	usedEncRaw    = 0
	usedEncRuns   = 1
	usedMaxRegion = 1 << 40
	// usedMaxRegions bounds what a stored map may ask us to allocate (32 MiB).
	usedMaxRegions = 1 << 28
)

var usedCRC = crc32.MakeTable(crc32.Castagnoli)

// usedMap is safe for concurrent use.
type usedMap struct {
	size, region int64
	n            int64 // regions

	mu    sync.Mutex // guards bits, gen, dirty
	bits  []uint64
	gen   uint64
	dirty bool // changed since the last encode
}

// newUsedMap returns an empty map of a volume of size bytes in regions of
// region bytes.
func newUsedMap(size, region int64) (*usedMap, error) {
	if size < 0 || region <= 0 || region > usedMaxRegion {
		return nil, fmt.Errorf("raid: used map: volume of %d bytes in regions of %d", size, region)
	}
	n := (size + region - 1) / region
	return &usedMap{size: size, region: region, n: n, bits: make([]uint64, (n+63)/64)}, nil
}

// usedRegionSize returns the smallest multiple of stripe whose map of a
// volume of size bytes encodes (raw, the worst case) in capacity bytes, or
// an error when none does.
func usedRegionSize(size, stripe, capacity int64) (int64, error) {
	if stripe <= 0 {
		return 0, fmt.Errorf("raid: used map: stripe of %d bytes", stripe)
	}
	room := (capacity - usedHeader - 4) * 8 // regions a raw bitmap can hold
	if room <= 0 {
		return 0, fmt.Errorf("raid: used map: %d bytes of room", capacity)
	}
	stripes := (size + stripe - 1) / stripe
	per := max((stripes+room-1)/room, 1)
	return per * stripe, nil
}

// regions returns the first and one-past-last region touched by
// [off, off+length), clipped to the volume.
func (u *usedMap) regions(off, length int64) (int64, int64) {
	if length <= 0 || off >= u.size || off+length <= 0 {
		return 0, 0
	}
	off, end := max(off, 0), min(off+length, u.size)
	return off / u.region, (end + u.region - 1) / u.region
}

// markUsed records that [off, off+length) was written. It reports whether
// the map changed (and so must be stored before the next flush completes).
func (u *usedMap) markUsed(off, length int64) bool {
	a, b := u.regions(off, length)
	u.mu.Lock()
	defer u.mu.Unlock()
	changed := false
	for i := a; i < b; i++ {
		if u.bits[i/64]&(1<<(i%64)) == 0 {
			u.bits[i/64] |= 1 << (i % 64)
			changed = true
		}
	}
	u.dirty = u.dirty || changed
	return changed
}

// discard records that [off, off+length) holds nothing of value; regions
// it covers entirely become free. It reports whether the map changed.
func (u *usedMap) discard(off, length int64) bool {
	if length <= 0 {
		return false
	}
	off, end := max(off, 0), min(off+length, u.size)
	a := (off + u.region - 1) / u.region
	b := end / u.region
	if end == u.size {
		b = u.n // the last region may be short
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	changed := false
	for i := a; i < b; i++ {
		if u.bits[i/64]&(1<<(i%64)) != 0 {
			u.bits[i/64] &^= 1 << (i % 64)
			changed = true
		}
	}
	u.dirty = u.dirty || changed
	return changed
}

// setAll marks the whole volume in use (an array whose map is unknown).
func (u *usedMap) setAll() {
	u.markUsed(0, u.size)
}

func (u *usedMap) isSet(i int64) bool { return u.bits[i/64]&(1<<(i%64)) != 0 }

// used reports whether any region touched by [off, off+length) is in use.
func (u *usedMap) used(off, length int64) bool {
	a, b := u.regions(off, length)
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := a; i < b; i++ {
		if u.isSet(i) {
			return true
		}
	}
	return false
}

// nextUsed returns the first run of used regions at or after byte from, as
// the byte range [start, end) clipped to the volume; ok is false when no
// region from there on is in use.
func (u *usedMap) nextUsed(from int64) (start, end int64, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	i := max(from, 0) / u.region
	for i < u.n && !u.isSet(i) {
		if i%64 == 0 && u.bits[i/64] == 0 {
			i += 64
			continue
		}
		i++
	}
	if i >= u.n {
		return 0, 0, false
	}
	j := i
	for j < u.n && u.isSet(j) {
		j++
	}
	return max(i*u.region, from), min(j*u.region, u.size), true
}

// usedBytes returns the bytes of the volume in regions in use.
func (u *usedMap) usedBytes() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	var n int64
	for _, w := range u.bits {
		n += int64(bits.OnesCount64(w))
	}
	total := n * u.region
	if n > 0 && u.isSet(u.n-1) {
		total -= u.n*u.region - u.size
	}
	return total
}

// isDirty reports whether the map changed since it was last encoded.
func (u *usedMap) isDirty() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dirty
}

// encode returns the map in its stored form with the next generation.
func (u *usedMap) encode() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gen++
	u.dirty = false
	raw := make([]byte, (u.n+7)/8)
	for i := range raw {
		raw[i] = byte(u.bits[i/8] >> (8 * (i % 8)))
	}
	var runs []byte
	cur, run := false, int64(0)
	for i := int64(0); i < u.n && len(runs) < len(raw); i++ {
		if u.isSet(i) != cur {
			runs = binary.AppendUvarint(runs, uint64(run))
			cur, run = !cur, 0
		}
		run++
	}
	payload, enc := raw, byte(usedEncRaw)
	if u.n > 0 && len(runs) < len(raw) {
		runs = binary.AppendUvarint(runs, uint64(run))
		if len(runs) < len(raw) {
			payload, enc = runs, usedEncRuns
		}
	}
	b := make([]byte, usedHeader, usedHeader+len(payload)+4)
	copy(b, usedMagic)
	le := binary.LittleEndian
	le.PutUint64(b[8:], u.gen)
	le.PutUint64(b[16:], uint64(u.size))
	le.PutUint64(b[24:], uint64(u.region))
	le.PutUint64(b[32:], uint64(u.n))
	b[40] = enc
	le.PutUint32(b[44:], uint32(len(payload)))
	b = append(b, payload...)
	return le.AppendUint32(b, crc32.Checksum(b, usedCRC))
}

var errNoUsedMap = errors.New("raid: no used map")

// decodeUsedMap parses a stored map; b may carry trailing bytes (the rest
// of its area).
func decodeUsedMap(b []byte) (*usedMap, error) {
	if len(b) < usedHeader+4 || !bytes.Equal(b[:8], []byte(usedMagic)) {
		return nil, errNoUsedMap
	}
	le := binary.LittleEndian
	plen := int64(le.Uint32(b[44:]))
	if plen > int64(len(b))-usedHeader-4 {
		return nil, fmt.Errorf("raid: used map: payload of %d bytes in %d", plen, len(b))
	}
	end := usedHeader + int(plen)
	if got, want := crc32.Checksum(b[:end], usedCRC), le.Uint32(b[end:]); got != want {
		return nil, fmt.Errorf("raid: used map: checksum %08x, want %08x", got, want)
	}
	size, region, n := int64(le.Uint64(b[16:])), int64(le.Uint64(b[24:])), le.Uint64(b[32:])
	if size < 0 || size > 1<<60 {
		return nil, fmt.Errorf("raid: used map: volume size %d", size)
	}
	if region <= 0 || n > usedMaxRegions || (size+region-1)/region != int64(n) {
		return nil, fmt.Errorf("raid: used map: %d regions of %d bytes for %d bytes", n, region, size)
	}
	u, err := newUsedMap(size, region)
	if err != nil {
		return nil, err
	}
	if b[41]|b[42]|b[43] != 0 {
		return nil, errors.New("raid: used map: reserved bytes not zero")
	}
	u.gen = le.Uint64(b[8:])
	payload := b[usedHeader:end]
	switch b[40] {
	case usedEncRaw:
		err = u.decodeRaw(payload)
	case usedEncRuns:
		err = u.decodeRuns(payload)
	default:
		err = fmt.Errorf("raid: used map: unknown encoding %d", b[40])
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (u *usedMap) decodeRaw(p []byte) error {
	if int64(len(p)) != (u.n+7)/8 {
		return fmt.Errorf("raid: used map: bitmap of %d bytes for %d regions", len(p), u.n)
	}
	for i, c := range p {
		u.bits[i/8] |= uint64(c) << (8 * (i % 8))
	}
	if u.n%8 != 0 && p[len(p)-1]>>(u.n%8) != 0 {
		return errors.New("raid: used map: bits set past the last region")
	}
	return nil
}

func (u *usedMap) decodeRuns(p []byte) error {
	var at int64
	for k := 0; len(p) > 0; k++ {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return errors.New("raid: used map: bad run length")
		}
		p = p[n:]
		if (v == 0 && k > 0) || v > uint64(u.n-at) {
			return fmt.Errorf("raid: used map: run %d of %d regions at region %d of %d", k, v, at, u.n)
		}
		if k%2 == 1 {
			for i := at; i < at+int64(v); i++ {
				u.bits[i/64] |= 1 << (i % 64)
			}
		}
		at += int64(v)
	}
	if at != u.n {
		return fmt.Errorf("raid: used map: runs cover %d of %d regions", at, u.n)
	}
	return nil
}

// writeUsedMap stores enc (from encode) in the area of capacity bytes at
// off on m.
func writeUsedMap(m Member, off, capacity int64, enc []byte) error {
	if int64(len(enc)) > capacity {
		return fmt.Errorf("raid: used map of %d bytes does not fit its area of %d", len(enc), capacity)
	}
	if _, err := m.WriteAt(enc, off); err != nil {
		return fmt.Errorf("raid: writing used map: %w", err)
	}
	return nil
}

// readUsedMap returns the newest good map among the copies in the areas of
// capacity bytes at off on members (nil entries are skipped), or an error
// wrapping errNoUsedMap when none is good.
func readUsedMap(members []Member, off, capacity int64) (*usedMap, error) {
	var best *usedMap
	var errs []error
	buf := make([]byte, capacity)
	for i, m := range members {
		if m == nil {
			continue
		}
		if _, err := m.ReadAt(buf, off); err != nil {
			errs = append(errs, fmt.Errorf("member %d: %w", i, err))
			continue
		}
		u, err := decodeUsedMap(buf)
		if err != nil {
			errs = append(errs, fmt.Errorf("member %d: %w", i, err))
			continue
		}
		if best == nil || u.gen > best.gen {
			best = u
		}
	}
	if best == nil && len(errs) == 0 {
		return nil, errNoUsedMap
	}
	if best == nil {
		return nil, fmt.Errorf("%w: %w", errNoUsedMap, errors.Join(errs...))
	}
	return best, nil
}
