package appliance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/mail/store"
)

// BenchmarkStoreOnRAID measures 1 MiB deliveries (store.Deliver, durable)
// into the store on a RAID-6 of five 1 GiB member files, as `serve --dev`
// makes it, for the array's chunk size and the store's segment size the
// appliance picks by default (64 KiB, 32 MiB) and for the earlier choices
// (512 KiB chunks, 8 MiB segments), with 1 and 16 concurrent deliveries.
// The reference is the earlier choice measured in the same run: ratio =
// deliveries/s of a layout over those of 512 KiB chunks with 8 MiB segments
// at the same concurrency.
//
//	go test ./firmware/appliance -run '^$' -bench StoreOnRAID -benchtime 200x
func BenchmarkStoreOnRAID(b *testing.B) {
	type layout struct {
		name       string
		chunk, seg int64
	}
	layouts := []layout{
		{"chunk512K-seg8M", 512 << 10, 8 << 20}, // the reference, first
		{"chunk64K-seg8M", 64 << 10, 8 << 20},
		{"chunk64K-seg32M", 64 << 10, 32 << 20},
	}
	for _, conc := range []int{1, 16} {
		ref := 0.0
		for i, l := range layouts {
			b.Run(fmt.Sprintf("%s/conc=%d", l.name, conc), func(b *testing.B) {
				rate := deliverOnRAID(b, l.chunk, l.seg, conc)
				if i == 0 { // the last run of the reference is the one that counts
					ref = rate
				}
				b.ReportMetric(rate, "deliveries/s")
				b.ReportMetric(rate/ref, "ratio")
			})
		}
	}
}

func deliverOnRAID(b *testing.B, chunk, seg int64, conc int) float64 {
	dir := b.TempDir()
	var ms []raid.Member
	for i := range 5 {
		p := filepath.Join(dir, fmt.Sprintf("disk%d.img", i))
		if err := makeSparse(p, 1<<30); err != nil {
			b.Fatal(err)
		}
		m, err := raid.OpenFile(p, false)
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
	}
	a, err := raid.Create(ms, &raid.CreateOptions{Level: 6, Chunk: chunk})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Create(a, &store.CreateOptions{SegmentSize: seg}); err != nil {
		b.Fatal(err)
	}
	s, err := store.Open(a, cutStoreOptions(false))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close() // closes the array too
	const account = "bench@example.org"
	if err := s.AddUser(context.Background(), account, "pw"); err != nil {
		b.Fatal(err)
	}
	// A message just under the inline limit with its header, as the
	// delivery benchmark against Dovecot sends.
	body := bytes.Repeat([]byte("0123456789 abcdefghijklmnopqrstuvwxyz 0123456789 abcdefghijklmnopq\r\n"), (1<<20-400)/70)
	to := []store.Delivery{{Recipient: account}}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				res, err := s.Deliver(context.Background(), to, time.Time{}, bytes.NewReader(body))
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(dir)
	return float64(b.N) / d.Seconds()
}
