package userns

import (
	"reflect"
	"strings"
	"testing"
)

func TestFindOverlaps(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"none", "alice:100000:65536\nbob:165536:65536\n", nil},
		{"another user's", "alice:100000:65536\nbob:160000:65536\n", []string{"your range 100000-165535 overlaps 160000-225535 of bob"}},
		{"own ranges", "alice:100000:65536\n1000:120000:10\n", []string{"your ranges 100000-165535 and 120000-120009 overlap"}},
		{"own id", "alice:0:65536\n", []string{"your range 0-65535 holds your own id 1000"}},
		{"adjacent is fine", "alice:100000:10\nalice:100010:10\nbob:100020:5\n", nil},
		{"comments and junk", "# alice:0:99999\nalice:x:1\nalice:100000:65536\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := FindOverlaps(strings.NewReader(tt.file), "alice", 1000, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range all {
				got = append(got, o.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FindOverlaps(%q) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}
