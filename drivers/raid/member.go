package raid

import "io"

// Member is one block device of an array: a SATA disk, a partition or a
// plain file. Implementations live with the hardware (drivers/sata), with
// files (OpenFile in this package) and with the tests (raidtest).
type Member interface {
	io.ReaderAt
	io.WriterAt
	// Size is the member's capacity in bytes.
	Size() int64
	// Flush makes every completed write durable (fdatasync, FLUSH CACHE).
	Flush() error
	// Close releases the member (and its lock, if any).
	Close() error
}
