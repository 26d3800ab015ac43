package userns

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSubIDs(t *testing.T) {
	in := "# comment\nalice:100000:65536\nbob:165536:65536\n1000:300000:10\nalice:bad:1\nalice:5\n\nalice:400000:100\n"
	got, err := ParseSubIDs(strings.NewReader(in), "alice", 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{100000, 65536}, {300000, 10}, {400000, 100}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSubIDs(alice, 1000) = %v, want %v", got, want)
	}
	if got, _ := ParseSubIDs(strings.NewReader(in), "carol", 1002); len(got) != 0 {
		t.Errorf("ParseSubIDs(carol) = %v, want none", got)
	}
}

func TestOuterAndKeepID(t *testing.T) {
	outer := Outer(1000, []Range{{100000, 65536}})
	if want := []IDMap{{0, 1000, 1}, {1, 100000, 65536}}; !reflect.DeepEqual(outer, want) {
		t.Fatalf("Outer = %v, want %v", outer, want)
	}
	total := Total(outer)
	tests := []struct {
		name string
		got  []IDMap
		want []IDMap
	}{
		{"keep-id", Within(KeepID(1000, total), outer), []IDMap{{1000, 0, 1}, {0, 1, 1000}, {1001, 1001, 64536}}},
		{"identity", Within(Identity(total), outer), []IDMap{{0, 0, 1}, {1, 1, 65536}}},
		{"single", Within(KeepID(1000, 1), Outer(1000, nil)), []IDMap{{1000, 0, 1}}},
		{"root single", Within(Identity(1), Outer(1000, nil)), []IDMap{{0, 0, 1}}},
		{"id beyond range", KeepID(70000, 100), []IDMap{{70000, 0, 1}, {0, 1, 99}}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
		if Total(tt.got) > total && tt.name != "id beyond range" {
			t.Errorf("%s: maps %d ids, more than the %d the outer map has", tt.name, Total(tt.got), total)
		}
	}
}

func TestWithinSplitsAtOuterExtents(t *testing.T) {
	// Two subordinate ranges: a nested identity map must be cut into three
	// extents, each inside one extent of the outer map, or the kernel
	// refuses the write with EPERM.
	outer := Outer(1000, []Range{{100000, 10}, {200000, 5}})
	got := Within(Identity(Total(outer)), outer)
	want := []IDMap{{0, 0, 1}, {1, 1, 10}, {11, 11, 5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Within = %v, want %v", got, want)
	}
	if !Contains(got, 15) || Contains(got, 16) {
		t.Errorf("Contains is wrong for %v", got)
	}
}

func TestFormatAndArgs(t *testing.T) {
	m := []IDMap{{0, 1000, 1}, {1, 100000, 65536}}
	if got, want := Format(m), "0 1000 1\n1 100000 65536\n"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, want := strings.Join(args(m), " "), "0 1000 1 1 100000 65536"; got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
}
