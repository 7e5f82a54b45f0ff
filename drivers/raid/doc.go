// Package raid is postvault's parity RAID engine: RAID-5 and RAID-6 over
// members in Linux md's on-disk format, run in user space.
package raid
