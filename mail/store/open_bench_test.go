package store

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store/storetest"
)

// bigStore builds a store image holding n messages (1000 per account, each
// with its own body record location) and a checkpoint of them, without
// writing n bodies: the index is filled directly, as replaying n append
// records would fill it.
func bigStore(tb testing.TB, n int) []byte {
	tb.Helper()
	size := int64(64<<20) + int64(n)*64
	v := storetest.NewMem(size, 64<<10)
	if err := Create(v, &CreateOptions{SegmentSize: 8 << 20}); err != nil {
		tb.Fatal(err)
	}
	opts := &Options{CheckpointInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := Open(v, opts)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	perAcct := 1000
	date := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := 0; i < n; i += perAcct {
		id := s.st.nextAcct
		s.applyAccountAdd(&recAccountAddP{id: id, name: fmt.Sprintf("user%d@example.org", id), hash: "$argon2id$x"})
		mid := s.st.nextMbox
		s.applyMailboxCreate(&recMailboxCreateP{acct: id, id: mid, name: "INBOX", uidValidity: 1}, 1)
		mb := s.st.accounts[id].mailboxes[mid]
		mb.msgs = make([]msg, 0, perAcct)
		for j := 0; j < perAcct && i+j < n; j++ {
			b := &blob{off: s.dataStart + int64(j)*4096, reclen: 4096, size: uint32(3000 + j)}
			s.insertMsg(mb, msg{uid: uint32(j + 1), flags: uint32(j % 3), date: date + int64(j), modseq: uint64(i + j + 2), blob: b})
		}
	}
	s.mu.Unlock()
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	return v.Image()
}

// BenchmarkOpen measures opening a store from its checkpoint and the index
// memory per message.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("msgs=%d", n), func(b *testing.B) {
			img := bigStore(b, n)
			opts := &Options{ReadOnly: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			var perMsg float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				v := storetest.NewMemFrom(img, 64<<10)
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				b.StartTimer()
				s, err := Open(v, opts)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&m1)
				if got := s.Stats().Messages; got != n {
					b.Fatalf("opened %d messages, want %d", got, n)
				}
				perMsg = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
				runtime.KeepAlive(s)
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(perMsg, "index-B/msg")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/msg")
		})
	}
}
