package hal

import (
	"testing"
	"time"
)

// TestWaveNext checks wave.next against a scan of wave.level for
// every wave the package uses, and for touching and wrapping spans.
func TestWaveNext(t *testing.T) {
	waves := map[string]wave{
		"off": off, "steady": steady,
		"touching": {period: time.Second, spans: []span{{0, 200 * time.Millisecond}, {200 * time.Millisecond, 400 * time.Millisecond}}},
		"wrapping": {period: time.Second, spans: []span{{0, 100 * time.Millisecond}, {900 * time.Millisecond, time.Second}}},
		"full":     {period: time.Second, spans: []span{{0, time.Second}}},
	}
	for p, w := range softwareWaves {
		waves[Pattern(p).String()+".fault"] = w.fault
		waves[Pattern(p).String()+".locate"] = w.locate
	}
	for s, w := range statusWaves {
		waves["status."+Status(s).String()] = w
	}
	// Every span boundary is a multiple of 5 ms, so a 5 ms scan finds the
	// exact edges.
	const step = 5 * time.Millisecond
	for name, w := range waves {
		for d := time.Duration(0); d < 2200*time.Millisecond; d += step {
			want := time.Duration(-1)
			for x := d + step; x <= d+3*time.Second; x += step {
				if w.level(x) != w.level(x-step) {
					want = x
					break
				}
			}
			if got := w.next(d); got != want {
				t.Fatalf("%s: next(%v) = %v, want %v", name, d, got, want)
			}
		}
	}
}
