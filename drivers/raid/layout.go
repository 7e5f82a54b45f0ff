package raid

// md layout numbers (drivers/md/raid5.h, ALGORITHM_LEFT_SYMMETRIC).
const layoutLeftSymmetric = 2

// geometry is the shape of an array: how volume bytes map onto members.
// It is immutable once built.
type geometry struct {
	level      int   // 5 or 6
	disks      int   // raid_disks: members holding data and parity
	parity     int   // 1 (RAID-5) or 2 (RAID-6)
	data       int   // data chunks per stripe: disks - parity
	chunk      int64 // bytes
	stripes    int64 // rows: chunks per member used by the array
	dataOffset int64 // bytes from member start to the first chunk
}

func newGeometry(level, disks int, chunk, stripes, dataOffset int64) geometry {
	p := level - 4
	return geometry{level: level, disks: disks, parity: p, data: disks - p,
		chunk: chunk, stripes: stripes, dataOffset: dataOffset}
}

// stripeSize is the data bytes in one full stripe.
func (g geometry) stripeSize() int64 { return g.chunk * int64(g.data) }

// size is the volume's usable bytes.
func (g geometry) size() int64 { return g.stripeSize() * g.stripes }

// shards is data chunks plus parity chunks in one stripe (= disks).
func (g geometry) shards() int { return g.disks }

// roleOf returns the member role holding shard i of stripe s in md's
// left-symmetric layout: shards 0..data-1 are data chunks in volume order,
// shard data is P and shard data+1 is Q.
//
// RAID-5: P on role n-1-(s mod n), data chunk k on (P+1+k) mod n.
// RAID-6: P on role n-1-(s mod n), Q on (P+1) mod n, data k on (P+2+k) mod n.
func (g geometry) roleOf(s int64, i int) int {
	n := g.disks
	pd := n - 1 - int(s%int64(n))
	switch {
	case i < g.data:
		return (pd + g.parity + i) % n
	case i == g.data:
		return pd
	default:
		return (pd + 1) % n
	}
}

// shardOf is the inverse of roleOf: which shard of stripe s lives on role r.
func (g geometry) shardOf(s int64, r int) int {
	n := g.disks
	pd := n - 1 - int(s%int64(n))
	if r == pd {
		return g.data
	}
	if g.parity == 2 && r == (pd+1)%n {
		return g.data + 1
	}
	return ((r-pd-g.parity)%n + n) % n
}

// memberOffset is the byte offset, on a member, of byte off within the
// chunk of stripe s.
func (g geometry) memberOffset(s, off int64) int64 {
	return g.dataOffset + s*g.chunk + off
}

// locate maps a volume offset to its stripe, data shard and offset within
// the chunk.
func (g geometry) locate(off int64) (s int64, shard int, inChunk int64) {
	ss := g.stripeSize()
	s = off / ss
	w := off % ss
	return s, int(w / g.chunk), w % g.chunk
}
