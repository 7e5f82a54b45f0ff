package sata

import "testing"

func FuzzDecodeSense(f *testing.F) {
	f.Add([]byte{0x72, 1, 0, 0x1d, 0, 0, 0, 14, 9, 12, 0, 0, 0, 0, 0, 0, 0, 0x4f, 0, 0xc2, 0, 0x50})
	f.Add([]byte{0xf0, 0, 1, 0, 0x50, 0, 0, 10, 0, 0, 0xf4, 0x2c, 0, 0x1d, 0, 0, 0, 0})
	f.Add([]byte{0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSense(b)
		if err == nil {
			_ = s.Error()
			_ = s.kind()
		}
	})
}

func TestDecodeSense(t *testing.T) {
	for _, tc := range []struct {
		name      string
		b         []byte
		key       byte
		mid, high byte
	}{
		{"descriptor", []byte{0x72, 1, 0, 0x1d, 0, 0, 0, 14, 9, 12, 0, 0, 0, 0, 0, 0, 0, 0x4f, 0, 0xc2, 0, 0x50}, 1, 0x4f, 0xc2},
		{"fixed", []byte{0xf0, 0, 1, 0, 0x50, 0, 0, 10, 0, 0, 0xf4, 0x2c, 0, 0x1d, 0, 0, 0, 0}, 1, 0xf4, 0x2c},
	} {
		s, err := decodeSense(tc.b)
		if err != nil || !s.HasTF || s.Key != tc.key || s.TF.LBAMid != tc.mid || s.TF.LBAHigh != tc.high {
			t.Errorf("%s: decodeSense = %+v, %v; want key %d regs %#x/%#x", tc.name, s, err, tc.key, tc.mid, tc.high)
		}
	}
	if _, err := decodeSense([]byte{0x7f, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Error("decodeSense(unknown response code) = nil error")
	}
}
