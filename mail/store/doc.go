// Package store is postvault's mail store: accounts, mailboxes, messages,
// flags and the box's own settings, kept in a log-structured store written
// straight onto a Volume (the RAID array), with no kernel file system.
//
// The on-disk format is described byte by byte in docs/store-format.md; see
// format.go for the summary kept beside the code.
package store
