package store_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// BenchmarkDeliver measures durable deliveries per second on a file-backed
// volume flushed with fdatasync, against a Maildir-style reference measured
// in the same run on the same file system: each message written to tmp/ as
// its own file, fsync, rename into new/, fsync of the directory (what an
// MDA with fsync on does per message).
func BenchmarkDeliver(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		for _, conc := range []int{1, 16} {
			b.Run(fmt.Sprintf("size=%dK/conc=%d", size>>10, conc), func(b *testing.B) {
				body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
				dir := b.TempDir()
				storeRate := deliverStore(b, dir, body, conc)
				mdRate := deliverMaildir(b, dir, body, conc)
				b.ReportMetric(storeRate, "store-msg/s")
				b.ReportMetric(mdRate, "maildir-msg/s")
				b.ReportMetric(storeRate/mdRate, "x-maildir")
			})
		}
	}
}

// parallel runs n calls of f over conc goroutines and returns the rate.
func parallel(b *testing.B, n, conc int, f func(i int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

func deliverStore(b *testing.B, dir string, body []byte, conc int) float64 {
	size := int64(256<<20) + int64(b.N)*int64(len(body)+4096)*5/4
	v, err := storetest.CreateFile(filepath.Join(dir, "volume"), size)
	if err != nil {
		b.Fatal(err)
	}
	s := benchStore(b, v)
	defer s.Close()
	to := []store.Delivery{{Recipient: "bench@example.org"}}
	before := s.Stats().GroupCommits
	rate := parallel(b, b.N, conc, func(int) error {
		res, err := s.Deliver(ctx, to, time.Time{}, bytes.NewReader(body))
		if err == nil {
			err = res[0].Err
		}
		return err
	})
	b.ReportMetric(float64(b.N)/float64(s.Stats().GroupCommits-before), "msgs/flush")
	return rate
}

func deliverMaildir(b *testing.B, dir string, body []byte, conc int) float64 {
	md := filepath.Join(dir, "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	newDir, err := os.Open(filepath.Join(md, "new"))
	if err != nil {
		b.Fatal(err)
	}
	defer newDir.Close()
	return parallel(b, b.N, conc, func(i int) error {
		name := fmt.Sprintf("%d.M%dP%d.bench", time.Now().Unix(), i, os.Getpid())
		tmp := filepath.Join(md, "tmp", name)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(body); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(md, "new", name)); err != nil {
			return err
		}
		return newDir.Sync()
	})
}
