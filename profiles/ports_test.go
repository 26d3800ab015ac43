package profiles

import "testing"

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want Port
	}{
		{"127.0.0.1:8080:80/tcp", Port{"127.0.0.1", 8080, 80, "tcp"}},
		{"5353:53/udp", Port{"127.0.0.1", 5353, 53, "udp"}},
		{"8080:80", Port{"127.0.0.1", 8080, 80, "tcp"}},
		{"0.0.0.0:8443:443", Port{"0.0.0.0", 8443, 443, "tcp"}},
		{"[::1]:8080:80/TCP", Port{"::1", 8080, 80, "tcp"}},
	}
	for _, tt := range tests {
		got, err := ParsePort(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParsePort(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "80", "8080:80/sctp", "x:8080:80", "0:80", "8080:70000", "a:b", "1.2.3.4:80"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("ParsePort(%q) succeeded", bad)
		}
	}
}
