package raid

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

// openVector opens vector v's members read-only, leaving out the files
// listed in without (by index).
func openVector(t *testing.T, v string, without ...int) []Member {
	t.Helper()
	skip := map[int]bool{}
	for _, i := range without {
		skip[i] = true
	}
	var ms []Member
	for i, p := range mdVector(t, v) {
		if skip[i] {
			continue
		}
		f, err := OpenFile(p, true)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, f)
	}
	return ms
}

// TestMDVectorsThroughVolume reads the arrays stock md wrote, healthy and
// degraded as shared/testdata/md/README.md lists, and checks the SHA-256.
func TestMDVectorsThroughVolume(t *testing.T) {
	tests := []struct {
		name    string
		vector  string
		without []int
		state   ArrayState
	}{
		{"A healthy", "A", nil, StateClean},
		{"B healthy", "B", nil, StateClean},
		{"C healthy", "C", nil, StateClean},
		{"A without m0 and m3", "A", []int{0, 3}, StateDegraded},
		{"A without m4 and m5", "A", []int{4, 5}, StateDegraded},
		{"B without m1", "B", []int{1}, StateDegraded},
		{"C without m2", "C", []int{2}, StateDegraded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := vectorFacts[tt.vector]
			// Reversed order: assembly goes by identity, not position.
			ms := openVector(t, tt.vector, tt.without...)
			for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
				ms[i], ms[j] = ms[j], ms[i]
			}
			a, err := Assemble(ms, &AssembleOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.Size() != facts.arraySize {
				t.Errorf("Size() = %d, want %d", a.Size(), facts.arraySize)
			}
			st := a.Status()
			if st.State != tt.state || st.UUID != facts.uuid || st.Level != facts.level {
				t.Errorf("Status() = %s %s level %d, want %s %s level %d", st.State, st.UUID, st.Level, tt.state, facts.uuid, facts.level)
			}
			h := sha256.New()
			buf := make([]byte, 100000) // not a multiple of anything
			for off := int64(0); off < a.Size(); {
				n, err := a.ReadAt(buf, off)
				h.Write(buf[:n])
				off += int64(n)
				if err != nil && off < a.Size() {
					t.Fatalf("ReadAt(%d): %v", off, err)
				}
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != facts.sha256 {
				t.Errorf("SHA-256 of the volume = %s, want %s", got, facts.sha256)
			}
			if _, err := a.WriteAt([]byte{1}, 0); !errors.Is(err, ErrReadOnly) {
				t.Errorf("WriteAt on a read-only array: %v, want ErrReadOnly", err)
			}
		})
	}
}

func TestMDVectorWritableRefused(t *testing.T) {
	ms := openVector(t, "B")
	if _, err := Assemble(ms, nil); err == nil {
		t.Fatal("writable assembly of an mdadm-made array succeeded; it has no journal")
	}
}
