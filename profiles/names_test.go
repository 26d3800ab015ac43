package profiles

import (
	"regexp"
	"strings"
	"testing"
)

// TestNamesMatchTheirRegexps: validHostname and validEnvName accept
// exactly what the regexps they replaced (issue 18) accepted, over every
// string of up to 5 characters from an alphabet of each class the
// patterns tell apart, and around the 63-character label limit.
func TestNamesMatchTheirRegexps(t *testing.T) {
	hostname := regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	envName := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	inputs := []string{""}
	for n, last := 0, []string{""}; n < 5; n++ {
		var next []string
		for _, s := range last {
			for _, c := range []string{"a", "Z", "7", "-", ".", "_", "*", " ", "\n", "é", "\xff"} {
				next = append(next, s+c)
			}
		}
		inputs, last = append(inputs, next...), next
	}
	for _, n := range []int{61, 62, 63, 64, 65} {
		for _, l := range []string{strings.Repeat("a", n), "a" + strings.Repeat("-", n-2) + "a", "-" + strings.Repeat("a", n-1), strings.Repeat("a", n-1) + "-"} {
			inputs = append(inputs, l, l+".example.test", "example."+l, l+"."+l, l+".")
		}
	}
	for _, s := range inputs {
		if got, want := validHostname(s), hostname.MatchString(s); got != want {
			t.Errorf("validHostname(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := validEnvName(s), envName.MatchString(s); got != want {
			t.Errorf("validEnvName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
	if !validHostname("sandbox") || validHostname("-bad.example.test") || !validEnvName("LC_ALL") || validEnvName("1X") {
		t.Error("the names of the built-in profile and the errors' examples are judged wrong")
	}
}
