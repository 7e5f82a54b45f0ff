// Package raid is postvault's parity RAID engine: RAID-5 and RAID-6 over
// members in Linux md's on-disk format, run in user space.
//
// # Concepts
//
// A Member is one block device (a disk, a partition, a file: OpenFile). An
// Array is the members assembled into one volume (Create, Assemble): ReadAt,
// WriteAt, Flush, Discard, Repair, Size, StripeSize, ChunkSize, Status.
// Members are found by their superblocks, never by position: the array UUID
// must match (a foreign member is refused and never written), the member with
// the most events says who holds which role, and a member more than one
// event behind is stale and rebuilt. A dirty, degraded array does not start
// for writing unless forced. Writes that Flush has returned for survive a
// crash followed by the loss of one (RAID-5) or two (RAID-6) members: the
// journal below closes the write hole.
//
// # On-disk format (docs/raid-format.md has every field)
//
// Little-endian; sectors are 512 bytes; offsets from the member's start.
//
//	0      .. 4095    zero
//	4096   .. 8191    md v1.2 superblock: magic a92b4efc @0, major 1 @4,
//	                  feature_map @8, set_uuid @16, set_name @32, ctime @64,
//	                  level @72, layout @76 (2), size @80, chunksize @88,
//	                  raid_disks @92, data_offset @128, data_size @136,
//	                  super_offset @144 (8), recovery_offset @152,
//	                  dev_number @160, device_uuid @168, bblog_size @186 (8),
//	                  bblog_offset @188 (16), utime @192, events @200,
//	                  resync_offset @208 (all ones = clean), sb_csum @216,
//	                  max_dev @220 (128), dev_roles[] u16 @256 (role,
//	                  0xffff spare, 0xfffe faulty)
//	12288  .. 16383   md's bad-block log
//	16384  .. 20479   copy of the superblock (written first, read when the
//	                  primary's checksum fails)
//	20480, 24576      postvault header "PVRAIDM1" (2 copies): region offsets
//	                  and sizes, array UUID, journal key @104, CRC32C @4092
//	28672  .. 32767   rebuild/scrub checkpoint area
//	32768  ..         journal: 2 checkpoint slots "PVJCKPT1" (seq u64), then
//	                  a ring of record pieces "PVJREC02": seq, stripe,
//	                  piece index, entries (role, CRC32C of the new chunk,
//	                  lo, hi), array UUID, CRC32C (keyed by the journal
//	                  key), then bytes [lo,hi) of
//	                  the piece's own chunk (each piece sits on the member
//	                  of its chunk)
//	then              CRC32C of each chunk of this member, u32 per row
//	then              the used map (usedmap.go)
//	data_offset ..    chunks; row s at data_offset + s*chunk
//
// Layout is md's left-symmetric: stripe s over n members has P on role
// n-1-(s mod n), Q (RAID-6) on P+1, data chunk i on P+1+i (RAID-5) or
// P+2+i (RAID-6), all mod n.
//
// # Writes
//
// A write to a stripe that holds data first puts the stripe's new bytes for
// every chunk it changes (data, P, Q) in one journal record, a piece per
// chunk in the ring of that chunk's member, flushed, then writes in place;
// assembly replays records above the last checkpoint. Writes to stripes that
// hold nothing (never written or discarded) go in place whole, without a
// record. One WriteAt is one flush round (write.go): the records' pieces and,
// with them, what went in place are flushed together, so a write with a
// journaled part is durable when WriteAt returns; Flush syncs (checksums,
// used map, every member flushed, a journal checkpoint when one is due) only
// after writes without a record. The last stripes written are cached whole
// (stripecache.go), so appends to the tail stripe read nothing back.
package raid
