// Package store is postvault's mail store: accounts, mailboxes, messages,
// flags and the box's own settings, kept in one log-structured store written
// straight onto a Volume (the RAID array in the appliance, a file or memory
// in tests), with no kernel file system in between.
//
// # Concepts
//
// The volume holds two superblock slots and then fixed-size segments, each a
// multiple of the stripe size. Everything that changes is appended to the
// log as a small checksummed, sequenced record: account and mailbox changes,
// flag changes, copies, expunges, and each message body once, inline in its
// append record (up to 1 MiB) or as 256 KiB chunk records before it. One
// writer goroutine takes every waiting change, writes them as one batch and
// flushes once (group commit): a call that changes mail returns only when
// its records are flushed through the volume, and concurrent deliveries share
// flushes. While nothing else is queued, the chunks of a message still
// arriving are held back (up to 4 MiB) until the message is complete, so
// that such a message is written in one batch with its append record: one
// flush per delivery. While a batch is being flushed the writer may write
// the next batch of the same segment (flight.go): at most two batches are
// unacknowledged at a time, and a large batch ends on a stripe boundary so
// that the next one goes on the RAID in place, its parity computed while
// the flush before it runs.
// Record sequence numbers are the IMAP modification sequences.
//
// The index (accounts, mailboxes, per message UID, flags, keywords,
// internal date, modseq and where its body is: about 90 bytes a message)
// is kept in memory. It is rebuilt at Open from the newest checkpoint (the
// serialised index, itself written to the log) and the log after it.
// Checkpoints are written periodically, after enough metadata, by
// compaction and at Close, and the superblock, in two slots, names the
// newest and the one before it. Compaction copies the live bodies out of
// mostly dead segments, checkpoints and discards the freed segments on the
// volume. A segment is reused only once both slots' checkpoints are past
// it, so that when the newest checkpoint is unreadable the store opens
// from the older one and replays the log after it with nothing missing.
// New mail never takes the last free segments (the reserve, at least 2):
// they are left to compaction, which runs in the background at once when
// an expunge frees bodies on a volume short of space, so a full store takes
// mail again shortly after the user deletes some.
//
// For IMAP4rev1's \Recent the store keeps per mailbox the highest UID some
// session has claimed (Account.ClaimRecent, a recent record); claims are
// atomic and durable, and change no modseq. Each mailbox also keeps every
// keyword ever used in it (Account.Keywords), so that IMAP can announce
// keywords no message carries any more.
//
// Changes are applied to the index only once durable, by the writer, under
// a lock held for memory work only; watchers (IMAP IDLE, other sessions) get
// the resulting events after it is released.
//
// # Damage
//
// A batch with a damaged record is first given to the volume's Repair (if
// it has redundancy) and read again. If it stays damaged it is valid as a
// whole: a torn last batch (never acknowledged) is
// dropped at open, and so is one torn with the batch after it intact when
// that one was written while it was being flushed (flagged so) and nothing
// follows to prove it flushed; the intact one is erased before the log goes
// on. Damage anywhere else (bit rot) is found by the CRC32C of
// each record; the store first asks the volume to Repair the range from its
// redundancy, and otherwise reports it as a Problem naming the account,
// mailbox and UID it affects, and opens with everything else.
//
// With neither superblock (or neither one's checkpoint) readable, a
// read-only Open with Options.Salvage finds the segments by their headers
// and opens from the newest checkpoint directory record in them
// (salvage.go); CreateSafe refuses to format a volume that still holds a
// store's log.
//
// # Format
//
// The on-disk format is documented byte by byte in docs/store-format.md;
// format.go, records.go and checkpoint.go carry the same tables beside the
// code. In short: superblock "PVSTORE1" (128 bytes, CRC at 124) in slots at 0
// and 4096; segments start with a 64-byte "PVSEG001" header; records have a
// 32-byte "PVR1" header (type, batch framing, payload length, sequence,
// payload CRC, header CRC keyed with the store UUID) and a payload padded to
// 8 bytes (type 19, recent: uv account, uv mailbox, uv mark); a checkpoint
// is "PVCKPT02" and the index in varints, each mailbox with its keyword
// table and \Recent mark ("PVCKPT01", without the mark, is still read).
package store
