package raid

import "testing"

func TestLayoutLeftSymmetric(t *testing.T) {
	tests := []struct {
		name         string
		level, disks int
		stripe       int64
		dataRoles    []int
		pRole, qRole int
	}{
		// The README of shared/testdata/md: A stripe 0, data on 1..4, P 5, Q 0.
		{"raid6 n6 s0", 6, 6, 0, []int{1, 2, 3, 4}, 5, 0},
		{"raid6 n6 s1", 6, 6, 1, []int{0, 1, 2, 3}, 4, 5},
		{"raid6 n6 s5", 6, 6, 5, []int{2, 3, 4, 5}, 0, 1},
		{"raid5 n4 s0", 5, 4, 0, []int{0, 1, 2}, 3, -1},
		{"raid5 n4 s1", 5, 4, 1, []int{3, 0, 1}, 2, -1},
		{"raid5 n4 s3", 5, 4, 3, []int{1, 2, 3}, 0, -1},
		{"raid5 n4 s4", 5, 4, 4, []int{0, 1, 2}, 3, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGeometry(tt.level, tt.disks, 4096, 10, 1<<20)
			for k, want := range tt.dataRoles {
				if got := g.roleOf(tt.stripe, k); got != want {
					t.Errorf("roleOf(%d, data %d) = %d, want %d", tt.stripe, k, got, want)
				}
			}
			if got := g.roleOf(tt.stripe, g.data); got != tt.pRole {
				t.Errorf("roleOf(%d, P) = %d, want %d", tt.stripe, got, tt.pRole)
			}
			if tt.qRole >= 0 {
				if got := g.roleOf(tt.stripe, g.data+1); got != tt.qRole {
					t.Errorf("roleOf(%d, Q) = %d, want %d", tt.stripe, got, tt.qRole)
				}
			}
			for i := 0; i < g.disks; i++ {
				if got := g.shardOf(tt.stripe, g.roleOf(tt.stripe, i)); got != i {
					t.Errorf("shardOf(roleOf(%d, %d)) = %d", tt.stripe, i, got)
				}
			}
		})
	}
}
