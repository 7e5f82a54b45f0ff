package raid

import (
	"errors"
	"fmt"
)

// stripeCheck is what repairStripe found in one stripe.
type stripeCheck struct {
	Stripe   int64
	Bad      []int // roles whose chunk was wrong or unreadable
	Repaired bool  // the bad chunks were rewritten
}

// Repair re-verifies the volume range [off, off+length) against parity and
// postvault's chunk checksums and rewrites any bad chunk from redundancy.
// It returns an error naming the stripe when a bad chunk cannot be found or
// rebuilt (on RAID-5, a parity mismatch with no checksum to blame a chunk).
// Stripes that hold nothing (discarded, never written) are skipped.
func (a *Array) Repair(off, length int64) error {
	if a.closed.Load() {
		return errClosed
	}
	if a.readOnly {
		return ErrReadOnly
	}
	if off < 0 || length < 0 || off+length > a.Size() {
		return fmt.Errorf("raid: repair of %d bytes at %d is outside the volume of %d bytes", length, off, a.Size())
	}
	if length == 0 {
		return nil
	}
	ss := a.geo.stripeSize()
	var errs []error
	for s := off / ss; s*ss < off+length; s++ {
		if !a.used.used(s*ss, ss) {
			continue
		}
		if _, err := a.repairStripe(s, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// repairStripe checks stripe s: every chunk is read whole; a chunk that does
// not match its recorded CRC32C or cannot be read is bad; when parity
// disagrees with the data and no checksum blames a chunk, RAID-6 locates
// the bad chunk from P and Q. With fix, bad chunks are rebuilt from the
// others and rewritten. Parity that agrees with data whose checksums are
// stale (a crash between data and table) refreshes the checksums.
func (a *Array) repairStripe(s int64, fix bool) (stripeCheck, error) {
	unlock := a.lockStripe(s)
	defer unlock()
	g := a.geo
	chk := stripeCheck{Stripe: s}
	shards := make([][]byte, g.disks)
	bad := map[int]bool{}
	missing := 0
	for i := range g.disks {
		r := g.roleOf(s, i)
		m, ok := a.usable(r, s)
		if !ok {
			missing++
			continue
		}
		b := make([]byte, g.chunk)
		if _, err := m.ReadAt(b, g.memberOffset(s, 0)); err != nil {
			bad[i] = true
			continue
		}
		shards[i] = b
		if crc, ok := a.chunkCRC(r, s); ok && crc != crc32c(b) {
			bad[i] = true
		}
	}
	full := missing == 0 && len(bad) == 0
	if full {
		scratch := [][]byte{make([]byte, g.chunk), make([]byte, g.chunk)}
		pos, err := a.codec.locate(shards, scratch)
		switch {
		case err == nil && pos < 0:
			return chk, nil // consistent
		case err == nil:
			bad[pos] = true
		case errors.Is(err, errUnlocatable):
			return chk, fmt.Errorf("raid: stripe %d: parity does not match the data and no checksum or syndrome tells which chunk is wrong", s)
		default:
			return chk, err
		}
	} else if len(bad) > 0 && missing+len(bad) <= g.parity && missing == 0 {
		// Checksums blame chunks. If parity still agrees with the chunks as
		// read, the checksums are what is stale: trust the stripe.
		if ok, _ := a.codec.verify(readAsIs(shards, g), [][]byte{make([]byte, g.chunk), make([]byte, g.chunk)}); ok && allRead(shards) {
			for i := range g.disks {
				a.setChunkCRC(g.roleOf(s, i), s, crc32c(shards[i]))
			}
			return chk, nil
		}
	}
	for i := range bad {
		chk.Bad = append(chk.Bad, g.roleOf(s, i))
	}
	if len(bad) == 0 || !fix {
		return chk, nil
	}
	if missing+len(bad) > g.parity {
		return chk, fmt.Errorf("raid: stripe %d: %d bad and %d missing chunks, parity covers %d", s, len(bad), missing, g.parity)
	}
	for i := range bad {
		shards[i] = shards[i][:0]
	}
	for i := range shards {
		if shards[i] == nil {
			shards[i] = []byte{}
		}
	}
	if err := a.codec.reconstruct(shards); err != nil {
		return chk, err
	}
	for i := range bad {
		r := g.roleOf(s, i)
		if crc, ok := a.chunkCRC(r, s); ok && crc != crc32c(shards[i]) {
			return chk, fmt.Errorf("raid: stripe %d: the chunk of role %d rebuilt from redundancy does not match its checksum either", s, r)
		}
		if err := a.writeShardLocked(r, s, 0, shards[i]); err != nil {
			return chk, err
		}
		a.setChunkCRC(r, s, crc32c(shards[i]))
	}
	chk.Repaired = true
	return chk, nil
}

func allRead(shards [][]byte) bool {
	for _, b := range shards {
		if len(b) == 0 {
			return false
		}
	}
	return true
}

func readAsIs(shards [][]byte, g geometry) [][]byte {
	out := make([][]byte, len(shards))
	for i, b := range shards {
		if len(b) == 0 {
			b = make([]byte, g.chunk)
		}
		out[i] = b
	}
	return out
}
