package sandbox

import "testing"

// TestSpareThreads: init's spare threads never eat a tight pids.max.
func TestSpareThreads(t *testing.T) {
	for _, tt := range []struct{ pids, want int }{{0, 8}, {10, 0}, {24, 0}, {32, 4}, {40, 8}, {4096, 8}} {
		if got := spareThreads(tt.pids); got != tt.want {
			t.Errorf("spareThreads(%d) = %d, want %d", tt.pids, got, tt.want)
		}
	}
}
