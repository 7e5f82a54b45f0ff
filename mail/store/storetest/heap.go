package storetest

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// HeapPeak samples the live heap until stop is called and returns the
// largest HeapAlloc seen above the heap at the start: how much a streamed
// message made a server hold. The collector runs often meanwhile (GOGC 5),
// so that garbage not yet collected does not count as held.
func HeapPeak() (stop func() uint64) {
	old := debug.SetGCPercent(5)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		debug.SetGCPercent(old)
		return peak - min(peak, base)
	}
}
